/** The posture API on a real Vigil (HTTPS, SQLite): import, report in four formats, permissions. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { withInfuProModel } from '../../test/support/posture-model.ts';
import { type Harness, startHarness } from '../../test/support/vigil-harness.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

describe('posture API', () => {
  let h: Harness;
  let security: string;
  before(async () => {
    h = await startHarness();
    security = await withInfuProModel(h);
  });
  after(async () => h.stop());

  it('takes a model, SBOMs and advisories from a security officer and reports the finding', async () => {
    await h.vigil.devices.add({ id: 'pump-9', model: 'InfuPro 300', serial: 'X9' });
    await h.vigil.devices.updateStatus('pump-9', { firmware: '2.3.0', seenMs: Date.now() });
    const profile = await h.api('/api/v1/posture/devices/pump-9/profile', {
      method: 'PUT',
      token: security,
      body: { zone: 'guest', connection: 'legacy' },
    });
    assert.equal(profile.status, 200, profile.text);
    for (const fw of ['2.3.0', '2.4.1']) {
      const r = await h.api('/api/v1/posture/sboms', {
        method: 'POST',
        token: security,
        body: { model: 'InfuPro 300', firmware: fw, document: fixture(`infupro-${fw}.spdx.json`) },
      });
      assert.equal(r.status, 200, r.text);
    }
    for (const name of ['csaf/acme-medical-2026-001.json', 'kev/known_exploited_vulnerabilities.json']) {
      const r = await h.api('/api/v1/posture/advisories', {
        method: 'POST',
        token: security,
        body: { name: name.split('/')[1], document: fixture(`advisories/${name}`) },
      });
      assert.equal(r.status, 200, r.text);
    }
    const device = await h.api('/api/v1/posture/devices/pump-9', { token: security });
    assert.equal(device.status, 200, device.text);
    const d = device.json as {
      findings: Array<{ vulnerability: string; kev: boolean; fixFirmware: string }>;
      recommendation: { action: string };
    };
    assert.deepEqual(
      d.findings.map((f) => [f.vulnerability, f.kev, f.fixFirmware]),
      [['CVE-2026-10001', true, '2.4.1']],
    );
    assert.equal(d.recommendation.action, 'firmware-update');
  });

  it('serves the report as JSON, Markdown, HTML and CSV', async () => {
    for (const [format, type, marker] of [
      ['json', 'application/json', '"generatedAt"'],
      ['md', 'text/markdown', '# Vigil fleet security posture'],
      ['html', 'text/html', '<!doctype html>'],
      ['csv', 'text/csv', 'device,model,firmware'],
    ] as const) {
      const r = await h.api(`/api/v1/posture/report?format=${format}`, { token: security });
      assert.equal(r.status, 200, r.text);
      assert.ok(String(r.headers['content-type']).startsWith(type), String(r.headers['content-type']));
      assert.ok(r.text.includes(marker), `${format} report`);
      assert.ok(r.text.includes('CVE-2026-10001'));
      if (format === 'html')
        assert.match(String(r.headers['content-security-policy']), /^default-src 'none'; style-src 'sha256-/);
    }
  });

  it('refuses an unknown report format, naming the ones it serves once', async () => {
    const r = await h.api('/api/v1/posture/report?format=pdf', { token: security });
    assert.equal(r.status, 400, r.text);
    assert.equal(
      (r.json as { detail: string }).detail,
      'querystring/format must be one of: md, html, json, csv',
    );
  });

  it('refuses a malformed SBOM with its location as a problem document', async () => {
    const bom = JSON.parse(fixture('infupro-2.3.0.cdx.json'));
    bom.components[0].purl = 'not a purl';
    const r = await h.api('/api/v1/posture/sboms', {
      method: 'POST',
      token: security,
      body: { model: 'InfuPro 300', firmware: '9.9', document: JSON.stringify(bom, null, 2) },
    });
    assert.equal(r.status, 422);
    const problem = r.json as { code: string; detail: string };
    assert.equal(problem.code, 'VIGIL_ERR_POSTURE_BAD_SBOM');
    assert.match(problem.detail, /\/components\/0\/purl \(line \d+, column \d+\)/);
  });

  it('lets clinicians neither read nor change the posture', async () => {
    assert.equal((await h.api('/api/v1/posture/report', { token: h.clinicianToken })).status, 403);
    const r = await h.api('/api/v1/posture/advisories', {
      method: 'POST',
      token: h.clinicianToken,
      body: { name: 'x.json', document: '{}' },
    });
    assert.equal(r.status, 403);
  });
});
