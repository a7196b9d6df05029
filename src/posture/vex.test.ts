import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCsaf } from './advisory-csaf.ts';
import { AdvisoryIndex } from './matcher.ts';
import { VexIndex } from './vex.ts';

const device = (firmware: string) => ({ manufacturer: 'Acme Medical', model: 'InfuPro 300', firmware });

/** A vendor advisory that names both sides of the fix by version range, as CSAF allows. */
function rangedCsaf(status: Record<string, string[]>, newRange = 'vers:generic/>=2.4.1') {
  return parseCsaf({
    document: {
      csaf_version: '2.0',
      title: 't',
      tracking: { id: 'ACME-2', current_release_date: '2026-01-01T00:00:00Z' },
    },
    product_tree: {
      branches: [
        {
          category: 'vendor',
          name: 'Acme Medical',
          branches: [
            {
              category: 'product_name',
              name: 'InfuPro 300',
              branches: [
                {
                  category: 'product_version_range',
                  name: 'vers:generic/<2.4.1',
                  product: { product_id: 'P-OLD', name: 'firmware before 2.4.1' },
                },
                {
                  category: 'product_version_range',
                  name: newRange,
                  product: { product_id: 'P-NEW', name: 'firmware 2.4.1 and later' },
                },
              ],
            },
          ],
        },
      ],
    },
    vulnerabilities: [{ cve: 'CVE-2026-30003', product_status: status }],
  });
}

function decisions(csaf: ReturnType<typeof parseCsaf>, firmware: string) {
  const vex = new VexIndex(csaf.vex);
  return new AdvisoryIndex(csaf.advisories)
    .match([], device(firmware))
    .map((m) => ({ vulnerability: m.vulnerability, decision: vex.decide(m, device(firmware)) }));
}

describe('vendor VEX given by version range', () => {
  it('keeps the finding on firmware outside the range a product is fixed in', () => {
    const csaf = rangedCsaf({ known_affected: ['P-OLD'], fixed: ['P-NEW'] });
    assert.deepEqual(decisions(csaf, '2.3.0'), [{ vulnerability: 'CVE-2026-30003', decision: undefined }]);
  });

  it('keeps the finding on firmware outside a not-affected range', () => {
    const csaf = rangedCsaf({ known_affected: ['P-OLD'], known_not_affected: ['P-NEW'] });
    assert.deepEqual(decisions(csaf, '2.3.0'), [{ vulnerability: 'CVE-2026-30003', decision: undefined }]);
  });

  it('applies a range statement to a version inside it', () => {
    const csaf = rangedCsaf({ known_affected: ['P-OLD'], known_not_affected: ['P-NEW'] });
    const vex = new VexIndex(csaf.vex);
    const [m] = new AdvisoryIndex(csaf.advisories).match([], device('2.3.0'));
    assert.ok(m);
    for (const firmware of ['2.4.1', '2.5.0'])
      assert.equal(vex.decide({ ...m, version: firmware }, device(firmware))?.status, 'not_affected');
  });

  it('carries the range on the statement it writes', () => {
    const csaf = rangedCsaf({ known_affected: ['P-OLD'], fixed: ['P-NEW'] });
    assert.equal(csaf.vex.length, 1);
    assert.equal(csaf.vex[0]?.firmware, null);
    assert.equal(csaf.vex[0]?.vers, 'vers:generic/>=2.4.1');
  });

  it('does not apply a range it cannot read', () => {
    const csaf = rangedCsaf({ known_affected: ['P-OLD'], known_not_affected: ['P-NEW'] }, 'vls:>=2.4.1');
    const vex = new VexIndex(csaf.vex);
    const [m] = new AdvisoryIndex(csaf.advisories).match([], device('2.3.0'));
    assert.ok(m);
    assert.equal(vex.decide({ ...m, version: '2.5.0' }, device('2.5.0')), undefined);
  });
});
