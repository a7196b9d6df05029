/** Version ranges in vendor advisories, end to end on a real Vigil (HTTPS, SQLite). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { withInfuProModel } from './support/posture-model.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

const CRITICAL = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';

function rangedCsaf(id: string, cve: string) {
  return {
    document: {
      csaf_version: '2.0',
      title: 't',
      tracking: { id, current_release_date: '2026-01-01T00:00:00Z' },
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
                  name: 'vers:generic/>=2.4.1',
                  product: { product_id: 'P-NEW', name: 'firmware 2.4.1 and later' },
                },
              ],
            },
          ],
        },
      ],
    },
    vulnerabilities: [
      {
        cve,
        product_status: { known_affected: ['P-OLD'], fixed: ['P-NEW'] },
        scores: [{ products: ['P-OLD'], cvss_v3: { vectorString: CRITICAL } }],
      },
    ],
  };
}

describe('posture version ranges', () => {
  let h: Harness;
  let security: string;
  before(async () => {
    h = await startHarness();
    security = await withInfuProModel(h);
    for (const [id, firmware] of [
      ['pump-old', '2.3.0'],
      ['pump-new', '2.4.1'],
    ] as const) {
      await h.vigil.devices.add({ id, model: 'InfuPro 300', serial: id });
      await h.vigil.devices.updateStatus(id, { firmware, seenMs: Date.now() });
    }
  });
  after(async () => h.stop());

  const importAdvisory = async (name: string, doc: unknown) => {
    const r = await h.api('/api/v1/posture/advisories', {
      method: 'POST',
      token: security,
      body: { name, document: JSON.stringify(doc) },
    });
    assert.equal(r.status, 200, r.text);
  };
  const posture = async (device: string) => {
    const r = await h.api(`/api/v1/posture/devices/${device}`, { token: security });
    assert.equal(r.status, 200, r.text);
    return r.json as {
      findings: Array<{ vulnerability: string }>;
      suppressed: Array<{ vulnerability: string; status: string }>;
    };
  };

  it('reports a CSAF finding on firmware below the range the vendor calls fixed', async () => {
    await importAdvisory('acme-2.json', rangedCsaf('ACME-2', 'CVE-2026-30003'));
    const old = await posture('pump-old');
    assert.ok(old.findings.some((f) => f.vulnerability === 'CVE-2026-30003'));
    assert.ok(!old.suppressed.some((f) => f.vulnerability === 'CVE-2026-30003'));
    const fixed = await posture('pump-new');
    assert.ok(!fixed.findings.some((f) => f.vulnerability === 'CVE-2026-30003'));
  });

  it('reports firmware 2.3.0 inside vers:semver/<2.4', async () => {
    await importAdvisory('manual.json', {
      vigilAdvisory: 1,
      id: 'ACME-MAN-1',
      summary: 'authentication bypass',
      cvss: CRITICAL,
      affected: [
        { manufacturer: 'Acme Medical', model: 'InfuPro 300', vers: 'vers:semver/<2.4', fixed: '2.4' },
      ],
    });
    assert.ok((await posture('pump-old')).findings.some((f) => f.vulnerability === 'ACME-MAN-1'));
    assert.ok(!(await posture('pump-new')).findings.some((f) => f.vulnerability === 'ACME-MAN-1'));
  });
});
