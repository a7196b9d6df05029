import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseCsaf } from './advisory-csaf.ts';
import { parseCpe } from './cpe.ts';
import { locatePointer, locateSyntaxError } from './json-location.ts';
import { AdvisoryIndex } from './matcher.ts';
import { parsePurl } from './purl.ts';
import type { Advisory, Component } from './types.ts';
import { VexIndex } from './vex.ts';

const firmware = (version: string): Component => ({
  name: 'InfuPro 300 firmware',
  version,
  purl: null,
  cpe: `cpe:2.3:o:acme_medical:infupro_300_firmware:${version}:*:*:*:*:*:*:*`,
  ref: 'fw',
});

function csafWithCpe(): Advisory[] {
  return parseCsaf({
    document: {
      csaf_version: '2.0',
      title: 't',
      tracking: { id: 'ACME-1', current_release_date: '2026-01-01T00:00:00Z' },
    },
    product_tree: {
      branches: [
        {
          category: 'vendor',
          name: 'Acme Medical',
          branches: [
            {
              category: 'product_version_range',
              name: 'vers:generic/<2.4.1',
              product: {
                product_id: 'P1',
                name: 'firmware before 2.4.1',
                product_identification_helper: {
                  cpe: 'cpe:2.3:o:acme_medical:infupro_300_firmware:*:*:*:*:*:*:*:*',
                },
              },
            },
          ],
        },
      ],
    },
    vulnerabilities: [{ cve: 'CVE-2026-20002', product_status: { known_affected: ['P1'] } }],
  }).advisories;
}

describe('matching', () => {
  it('matches firmware by CPE 2.3 with a vers range from a CSAF product helper', () => {
    const index = new AdvisoryIndex(csafWithCpe());
    assert.deepEqual(
      index.match([firmware('2.3.0')]).map((m) => m.vulnerability),
      ['CVE-2026-20002'],
    );
    assert.deepEqual(index.match([firmware('2.4.1')]), []);
  });

  it('reports a vulnerability once per package when two advisories describe it, keeping the richer one', () => {
    const base: Advisory = {
      id: 'A',
      source: 'osv',
      aliases: ['CVE-2021-23337'],
      summary: '',
      cvssVector: null,
      severityScore: null,
      affected: [
        {
          key: 'purl:npm//lodash',
          versions: [],
          fixedVersions: [],
          ranges: [{ scheme: 'semver', events: [{ introduced: '0' }, { fixed: '4.17.21' }] }],
        },
      ],
      remediation: null,
      modifiedMs: null,
    };
    const index = new AdvisoryIndex([
      base,
      { ...base, id: 'B', cvssVector: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H' },
    ]);
    const matches = index.match([
      { name: 'lodash', version: '4.17.20', purl: 'pkg:npm/lodash@4.17.20', cpe: null, ref: null },
    ]);
    assert.deepEqual(
      matches.map((m) => [m.advisory.id, m.fixedVersion]),
      [['B', '4.17.21']],
    );
  });

  it('applies a VEX statement only to the product and version it names', () => {
    const [advisory] = csafWithCpe();
    const index = new AdvisoryIndex([advisory!]);
    const [m] = index.match([firmware('2.3.0')]);
    const device = { manufacturer: 'Acme Medical', model: 'InfuPro 300', firmware: '2.3.0' };
    const statement = {
      vulnerability: 'CVE-2026-20002',
      status: 'not_affected' as const,
      justification: 'component_not_present',
      source: 's',
    };
    const vex = (
      s: Partial<typeof statement> & {
        model: string | null;
        firmware: string | null;
        componentKey: string | null;
      },
    ) => new VexIndex([{ ...statement, ...s }]).decide(m!, device);
    assert.equal(
      vex({ model: 'InfuPro 300', firmware: '2.3.0', componentKey: null })?.status,
      'not_affected',
    );
    assert.equal(vex({ model: 'InfuPro 300', firmware: '2.2.0', componentKey: null }), undefined);
    assert.equal(vex({ model: 'Other', firmware: null, componentKey: null }), undefined);
    assert.equal(vex({ model: null, firmware: '2.3.0', componentKey: m!.key })?.status, 'not_affected');
    assert.equal(vex({ model: null, firmware: null, componentKey: 'purl:npm//other' }), undefined);
  });
});

describe('identifier and location parsers', () => {
  it('parse or refuse any purl and CPE text without throwing', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `pkg:${s}`),
          fc.string().map((s) => `cpe:2.3:${s}`),
        ),
        (s) => {
          const p = parsePurl(s);
          assert.ok(typeof p === 'string' || p.key.startsWith('purl:'));
          const c = parseCpe(s);
          assert.ok(typeof c === 'string' || c.key.startsWith('cpe:'));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('finds a syntax error exactly when JSON.parse refuses the text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json(),
          fc.string(),
          fc.json().map((j) => j.slice(0, -1)),
        ),
        (text) => {
          let valid = true;
          try {
            JSON.parse(text);
          } catch {
            valid = false;
          }
          assert.equal(locateSyntaxError(text) === undefined, valid);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('locates every pointer of a pretty-printed document on the line it is written', () => {
    const doc = { a: [1, { b: 'x' }], c: { 'd/e': null } };
    const text = JSON.stringify(doc, null, 2);
    assert.deepEqual(locatePointer(text, '/a/1/b'), { line: 5, column: 12 });
    assert.deepEqual(locatePointer(text, '/c/d~1e'), { line: 9, column: 12 });
    assert.deepEqual(locatePointer(text, '/a/7'), locatePointer(text, '/a'));
  });
});
