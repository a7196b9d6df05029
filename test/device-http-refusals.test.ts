/**
 * HTTPS telemetry refused before its handler runs (a body over the limit, a malformed id in
 * the path) leaves the same trace as the refusal over MQTT: a stored security event naming the
 * device, counted in vigil_refusals_total, and a problem document for the device.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EnrolledCredentials } from '../src/devices/enroll-client.ts';
import { httpsRequest } from './support/https-client.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

const OVER_64_KIB = Buffer.alloc(64 * 1024 + 200, 0x20);

async function eventsFor(h: Harness, code: string): Promise<Array<{ deviceId?: string; detail: string }>> {
  const r = await h.api(`/api/v1/security/events?code=${code}&limit=100`);
  assert.equal(r.status, 200, r.text);
  return (r.json as { events: Array<{ deviceId?: string; detail: string }> }).events;
}

async function refusalsCounted(h: Harness, code: string): Promise<number> {
  const r = await h.api('/metrics');
  const line = r.text.split('\n').find((l) => l.startsWith(`vigil_refusals_total{code="${code}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

function postTelemetry(h: Harness, creds: EnrolledCredentials, pathId: string, body: Buffer) {
  return httpsRequest(`${h.baseUrl}/api/v1/devices/${pathId}/telemetry`, {
    method: 'POST',
    ca: h.caPem,
    key: creds.keyPem,
    cert: creds.certPem,
    body,
  });
}

describe('HTTPS telemetry refused before the handler', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  it('records and counts a body over the limit, as MQTT does', async () => {
    const creds = await h.enrol('hr-big', 'hr-p1');
    const before = await refusalsCounted(h, 'VIGIL_ERR_INGEST_TOO_LARGE');
    const r = await postTelemetry(h, creds, 'hr-big', OVER_64_KIB);
    assert.equal(r.status, 413, r.text);
    assert.match(String(r.headers['content-type']), /application\/problem\+json/);
    assert.equal((r.json as { code: string }).code, 'VIGIL_ERR_INGEST_TOO_LARGE');
    assert.ok((await eventsFor(h, 'VIGIL_ERR_INGEST_TOO_LARGE')).some((e) => e.deviceId === 'hr-big'));
    assert.equal(await refusalsCounted(h, 'VIGIL_ERR_INGEST_TOO_LARGE'), before + 1);
  });

  it('records and counts a malformed device id in the path, naming the certificate', async () => {
    const creds = await h.enrol('hr-path', 'hr-p2');
    const before = await refusalsCounted(h, 'VIGIL_ERR_REQUEST_INVALID');
    const r = await postTelemetry(h, creds, '..%2Fhr-path', Buffer.from('{}'));
    assert.equal(r.status, 400, r.text);
    assert.match(String(r.headers['content-type']), /application\/problem\+json/);
    assert.equal((r.json as { code: string }).code, 'VIGIL_ERR_REQUEST_INVALID');
    assert.ok((await eventsFor(h, 'VIGIL_ERR_REQUEST_INVALID')).some((e) => e.deviceId === 'hr-path'));
    assert.equal(await refusalsCounted(h, 'VIGIL_ERR_REQUEST_INVALID'), before + 1);
  });

  it('refuses a quarantined device posting a large body as quarantined, with its event', async () => {
    const creds = await h.enrol('hr-q', 'hr-p3');
    await h.vigil.quarantine('hr-q', 'suspicious traffic', 'test');
    const r = await postTelemetry(h, creds, 'hr-q', OVER_64_KIB);
    assert.equal(r.status, 403, r.text);
    assert.equal((r.json as { code: string }).code, 'VIGIL_ERR_DEVICE_QUARANTINED');
    assert.ok((await eventsFor(h, 'VIGIL_ERR_DEVICE_QUARANTINED')).some((e) => e.deviceId === 'hr-q'));
  });
});
