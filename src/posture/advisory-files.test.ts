import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BACKENDS } from '../../test/support/backends.ts';
import { VigilError } from '../errors/catalogue.ts';
import { parseAdvisoryFile } from './advisory-files.ts';
import { IMPORT_BATCH, importAdvisoryPaths } from './advisory-import.ts';
import { PostureStore, sha256 } from './posture.store.ts';

const DIR = join(import.meta.dirname, 'fixtures', 'advisories');
const fixture = (name: string) => readFileSync(join(DIR, name), 'utf8');

function refusal(text: string, name = 'bad.json'): string {
  try {
    parseAdvisoryFile(text, name);
  } catch (e) {
    assert.ok(e instanceof VigilError, `expected a VigilError, got ${String(e)}`);
    assert.equal(e.code, 'VIGIL_ERR_POSTURE_BAD_ADVISORY');
    return e.detail;
  }
  assert.fail('the advisory was accepted');
}

describe('advisory files', () => {
  it('reads OSV with SEMVER and ECOSYSTEM ranges', () => {
    const f = parseAdvisoryFile(fixture('osv/GHSA-35jh-r3h4-6jhm.json'), 'x.json');
    assert.equal(f.kind, 'osv');
    const [a] = f.advisories;
    assert.deepEqual(
      a!.affected.map((x) => [x.key, x.ranges[0]!.scheme]),
      [
        ['purl:npm//lodash', 'semver'],
        ['purl:deb/debian/node-lodash', 'deb'],
      ],
    );
    assert.deepEqual(a!.aliases, ['CVE-2021-23337']);
  });

  it('reads a CSAF 2.0 advisory: affected device versions, fixed versions, VEX and remediation', () => {
    const f = parseAdvisoryFile(fixture('csaf/acme-medical-2026-001.json'), 'x.json');
    assert.equal(f.kind, 'csaf');
    const [a] = f.advisories;
    assert.equal(a!.id, 'ACME-PSA-2026-001/CVE-2026-10001');
    assert.deepEqual(a!.affected, [
      {
        key: 'device:acme medical:infupro 300',
        versions: ['2.3.0'],
        ranges: [],
        fixedVersions: ['2.4.1'],
        vers: [],
      },
    ]);
    assert.match(a!.remediation!, /vendor_fix: Update the pump firmware to 2\.4\.1/);
    assert.deepEqual(
      f.vex.map((v) => [v.vulnerability, v.status, v.firmware]),
      [
        ['CVE-2026-10001', 'fixed', '2.4.1'],
        ['CVE-2022-37434', 'not_affected', '2.3.0'],
        ['CVE-2022-37434', 'not_affected', '2.4.1'],
      ],
    );
  });

  it('reads the KEV catalog and EPSS scores', () => {
    const kev = parseAdvisoryFile(fixture('kev/known_exploited_vulnerabilities.json'), 'kev.json');
    assert.deepEqual(
      kev.kev.map((k) => [k.cve, k.knownRansomware]),
      [
        ['CVE-2021-44228', true],
        ['CVE-2026-10001', false],
      ],
    );
    const epss = parseAdvisoryFile(fixture('epss/epss_scores-2026-09-01.csv'), 'e.csv');
    assert.equal(epss.epss[0]!.probability, 0.01234);
  });

  it('reads an advisory typed in by hand for a device model', () => {
    const f = parseAdvisoryFile(
      JSON.stringify({
        vigilAdvisory: 1,
        id: 'VIGIL-2026-0001',
        summary: 'Vendor letter: Bluetooth pairing bypass',
        cvss: 'CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:L/A:N',
        affected: [
          { manufacturer: 'Acme Medical', model: 'InfuPro 300', vers: 'vers:generic/<2.4.1', fixed: '2.4.1' },
        ],
      }),
      'letter.json',
    );
    assert.equal(f.kind, 'manual');
    assert.deepEqual(f.advisories[0]!.affected[0], {
      key: 'device:acme medical:infupro 300',
      versions: [],
      ranges: [],
      fixedVersions: ['2.4.1'],
      vers: ['vers:generic/<2.4.1'],
    });
    assert.match(
      refusal(
        JSON.stringify({
          vigilAdvisory: 1,
          id: 'X',
          summary: 's',
          affected: [{ manufacturer: 'A', model: 'B', vers: '<2' }],
        }),
      ),
      /at \/affected\/0\/vers .*not a vers range/,
    );
  });

  it('refuses malformed advisories and says where', () => {
    const osv = JSON.parse(fixture('osv/GHSA-35jh-r3h4-6jhm.json'));
    osv.affected[1].ranges[0].type = 'DATE';
    assert.match(
      refusal(JSON.stringify(osv, null, 2)),
      /bad\.json at \/affected\/1\/ranges\/0\/type \(line \d+, column \d+\): range type must be/,
    );
    const csaf = JSON.parse(fixture('csaf/acme-medical-2026-001.json'));
    csaf.vulnerabilities[0].product_status.known_affected = ['CSAFPID-9999'];
    assert.match(
      refusal(JSON.stringify(csaf, null, 2)),
      /at \/vulnerabilities\/0\/product_status\/known_affected\/0 \(line \d+.*not in the product_tree/,
    );
    const kev = JSON.parse(fixture('kev/known_exploited_vulnerabilities.json'));
    kev.vulnerabilities[1].cveID = 'CVE-26-1';
    assert.match(refusal(JSON.stringify(kev, null, 2)), /at \/vulnerabilities\/1\/cveID/);
    assert.match(
      refusal('cve,epss,percentile\nCVE-2021-1234,2,0.5\n', 'e.csv'),
      /e\.csv at line 2: epss and percentile/,
    );
    assert.match(refusal('{"id": "X", "modified": }'), /bad\.json at line 1, column 25: not JSON/);
  });

  it('answers any JSON with advisories or a VigilError, never a crash', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string()), (text) => {
        try {
          parseAdvisoryFile(text, 'p.json');
        } catch (e) {
          assert.ok(e instanceof VigilError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses or accepts any corruption of an OSV entry field, never crashes', () => {
    const base = JSON.parse(fixture('osv/GHSA-35jh-r3h4-6jhm.json'));
    const paths = [
      ['id'],
      ['modified'],
      ['aliases'],
      ['affected', 0, 'package'],
      ['affected', 1, 'ranges', 0, 'events'],
      ['severity', 0, 'score'],
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...paths),
        fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.string())),
        (path, value) => {
          const doc = structuredClone(base);
          let target = doc;
          for (const k of path.slice(0, -1)) target = target[k];
          target[path.at(-1)!] = value;
          try {
            parseAdvisoryFile(JSON.stringify(doc), 'p.json');
          } catch (e) {
            assert.ok(e instanceof VigilError);
            assert.match(e.detail, /p\.json at \//);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('advisory import', () => {
  it('resumes an interrupted file where it stopped and then skips it', async () => {
    const { store, cleanup } = await BACKENDS[0]!.open();
    const dir = mkdtempSync(join(tmpdir(), 'vigil-osv-'));
    try {
      const entries = Array.from({ length: IMPORT_BATCH + 10 }, (_, i) => ({
        id: `OSV-TEST-${i}`,
        modified: '2026-01-01T00:00:00Z',
        affected: [
          {
            package: { ecosystem: 'npm', name: `pkg-${i}` },
            ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.0.0' }] }],
          },
        ],
      }));
      const file = join(dir, 'all.json');
      writeFileSync(file, JSON.stringify(entries));
      const posture = new PostureStore(store.db, store.sqlite);
      // As if a first run had committed the first batch and then died.
      await posture.putAdvisories(
        (await import('./advisory-osv.ts')).parseOsv(entries.slice(0, IMPORT_BATCH)),
      );
      await posture.recordImport({
        contentHash: sha256(readFileSync(file)),
        path: file,
        kind: 'osv',
        nextIndex: IMPORT_BATCH,
        total: entries.length,
        completed: false,
      });
      const progress: number[] = [];
      const r = await importAdvisoryPaths(posture, [dir], (p) => progress.push(p.done));
      assert.deepEqual(r.advisories, { inserted: 10, updated: 0, unchanged: 0 });
      assert.equal(progress.at(-1), entries.length);
      assert.equal((await posture.advisories()).length, entries.length);
      const again = await importAdvisoryPaths(posture, [dir]);
      assert.equal(again.skippedFiles, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await cleanup();
    }
  });

  it('keeps going past a bad file and reports it', async () => {
    const { store, cleanup } = await BACKENDS[0]!.open();
    const dir = mkdtempSync(join(tmpdir(), 'vigil-osv-'));
    try {
      writeFileSync(join(dir, 'a-bad.json'), '{"id": "X"');
      writeFileSync(join(dir, 'b-good.json'), fixture('osv/DLA-3103-1.json'));
      const r = await importAdvisoryPaths(new PostureStore(store.db, store.sqlite), [dir]);
      assert.equal(r.errors.length, 1);
      assert.match(r.errors[0]!, /a-bad\.json at line 1, column 11/);
      assert.equal(r.advisories.inserted, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await cleanup();
    }
  });
});

describe('advisory parser properties on hostile input', () => {
  const refusedOrRead = (text: string, name = 'p.json') => {
    try {
      parseAdvisoryFile(text, name);
    } catch (e) {
      assert.ok(e instanceof VigilError, `expected a VigilError, got ${String(e)}`);
      assert.equal(e.code, 'VIGIL_ERR_POSTURE_BAD_ADVISORY');
    }
  };
  const csaf = (productTree: unknown, vulnerabilities: unknown) =>
    JSON.stringify({
      document: {
        csaf_version: '2.0',
        title: 't',
        tracking: { id: 'X-1', current_release_date: '2026-01-01T00:00:00Z' },
      },
      product_tree: productTree,
      vulnerabilities,
    });

  it('answers arbitrary bytes with advisories or its own refusal', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        refusedOrRead(Buffer.from(bytes).toString('utf8'));
        refusedOrRead(Buffer.from(bytes).toString('utf8'), 'p.csv');
      }),
      { numRuns: 300 },
    );
  });

  it('answers arbitrary JSON inside a CSAF, OSV or Vigil advisory with advisories or its own refusal', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        refusedOrRead(csaf(a, b));
        refusedOrRead(csaf({ branches: [{ category: 'vendor', name: 'v', branches: a }] }, [b]));
        refusedOrRead(JSON.stringify({ id: 'X', modified: '2026-01-01T00:00:00Z', affected: a, aliases: b }));
        refusedOrRead(JSON.stringify({ vigilAdvisory: 1, id: 'X', summary: 's', affected: a }));
      }),
      { numRuns: 300 },
    );
  });

  it('answers product tree branches nested to any depth with advisories or its own refusal', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6000 }), (depth) => {
        refusedOrRead(
          csaf(
            JSON.parse(
              `{"branches":[${'{"category":"vendor","name":"v","branches":['.repeat(Math.min(depth, 90))}${']}'.repeat(Math.min(depth, 90))}]}`,
            ),
            [],
          ),
        );
        refusedOrRead(
          `{"document":{"csaf_version":"2.0","title":"t","tracking":{"id":"X-1","current_release_date":"2026-01-01T00:00:00Z"}},"product_tree":{"branches":[${'{"category":"vendor","name":"v","branches":['.repeat(depth)}${']}'.repeat(depth)}]}}`,
        );
      }),
      { numRuns: 30 },
    );
  });
});
