import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { enrollDevice } from '../src/devices/enroll-client.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

interface Enrolment {
  device: { id: string; patientId: string | null; enrolled: boolean };
  enrollment: { token: string; expires: string };
}

/** Device administration over HTTP against a real Vigil: register, enrol, revoke, re-enrol, assign. */
describe('device administration API', { timeout: 120_000 }, () => {
  let h: Harness;

  before(async () => {
    h = await startHarness();
    await h.vigil.patients.add('p-adm-1', { name: 'Test Admin One' });
    await h.vigil.patients.add('p-adm-2', { name: 'Test Admin Two' });
  });
  after(async () => {
    await h.stop();
  });

  const enrolWith = (deviceId: string, token: string) =>
    enrollDevice({ serverUrl: h.baseUrl, caPem: h.caPem, deviceId, token });
  const lastAudit = async (action: string) => {
    const rows = await h.vigil.store.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', action)
      .orderBy('seq', 'desc')
      .execute();
    return rows[0];
  };

  it('registers a device for a patient and answers a one-time token that really enrols it', async () => {
    const r = await h.api('/api/v1/devices', {
      method: 'POST',
      body: { id: 'ox-adm-1', model: 'PulseOx 3', serial: 'SN-ADM-1', patientId: 'p-adm-1' },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers['cache-control'], 'no-store');
    const body = r.json as Enrolment;
    assert.equal(body.device.patientId, 'p-adm-1');
    assert.equal(body.device.enrolled, false);
    assert.match(body.enrollment.token, /^enr_/);
    assert.ok(Date.parse(body.enrollment.expires) > Date.now());
    const audit = await lastAudit('device.create');
    assert.equal(audit?.resource, 'Device/ox-adm-1');
    assert.equal(audit?.patient_id, 'p-adm-1');
    assert.doesNotMatch(JSON.stringify(audit), /enr_/, 'the token is not written to the audit trail');

    const creds = await enrolWith('ox-adm-1', body.enrollment.token);
    await h.connect(creds, 'ox-adm-1');
    await assert.rejects(enrolWith('ox-adm-1', body.enrollment.token), /already used|unknown/);
  });

  it('refuses an unknown patient without leaving a half-registered device', async () => {
    const r = await h.api('/api/v1/devices', {
      method: 'POST',
      body: { id: 'ox-adm-ghost', model: 'PulseOx 3', serial: 'SN-G', patientId: 'p-nobody' },
    });
    assert.equal(r.status, 404);
    assert.equal((r.json as { code: string }).code, 'VIGIL_ERR_PATIENT_UNKNOWN');
    assert.equal(await h.vigil.devices.list().then((l) => l.some((d) => d.id === 'ox-adm-ghost')), false);
  });

  it('refuses a device id that is taken, and ids and fields outside the rules', async () => {
    const taken = await h.api('/api/v1/devices', {
      method: 'POST',
      body: { id: 'ox-adm-1', model: 'X', serial: 'Y' },
    });
    assert.equal(taken.status, 409);
    for (const body of [
      { id: '../etc', model: 'X', serial: 'Y' },
      { id: 'ok-1', model: '', serial: 'Y' },
      { id: 'ok-1', model: 'X', serial: 'x'.repeat(129) },
      { id: 'ok-1', model: 'X' },
    ]) {
      const r = await h.api('/api/v1/devices', { method: 'POST', body });
      assert.equal(r.status, 400, JSON.stringify(body));
    }
  });

  it('lets a clinician neither register nor revoke devices', async () => {
    const add = await h.api('/api/v1/devices', {
      method: 'POST',
      token: h.clinicianToken,
      body: { id: 'ox-adm-9', model: 'X', serial: 'Y' },
    });
    assert.equal(add.status, 403);
    const revoke = await h.api('/api/v1/devices/ox-adm-1/revoke', {
      method: 'POST',
      token: h.clinicianToken,
      body: { reason: 'not mine to do' },
    });
    assert.equal(revoke.status, 403);
  });

  it('revokes: the live connection closes and the old certificate is refused; a new token enrols it again', async () => {
    const add = await h.api('/api/v1/devices', {
      method: 'POST',
      body: { id: 'ox-adm-2', model: 'PulseOx 3', serial: 'SN-ADM-2' },
    });
    const first = (add.json as Enrolment).enrollment.token;
    const creds = await enrolWith('ox-adm-2', first);
    const live = await h.connect(creds, 'ox-adm-2');
    // A token issued before the revocation must not survive it.
    const early = await h.api('/api/v1/devices/ox-adm-2/enrollment-token', { method: 'POST' });
    assert.equal(early.status, 201);
    const closed = new Promise<void>((resolve) => live.once('close', () => resolve()));
    const r = await h.api('/api/v1/devices/ox-adm-2/revoke', {
      method: 'POST',
      body: { reason: 'device reported stolen' },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { id: 'ox-adm-2', revokedCertificates: 1 });
    await closed;
    await assert.rejects(h.connect(creds, 'ox-adm-2'));
    await assert.rejects(enrolWith('ox-adm-2', (early.json as { token: string }).token));
    assert.equal((await lastAudit('device.revoke'))?.purpose, 'device reported stolen');

    const fresh = await h.api('/api/v1/devices/ox-adm-2/enrollment-token', { method: 'POST' });
    assert.equal(fresh.status, 201);
    assert.equal(fresh.headers['cache-control'], 'no-store');
    const again = await enrolWith('ox-adm-2', (fresh.json as { token: string }).token);
    await h.connect(again, 'ox-adm-2');

    const detail = await h.api('/api/v1/devices/ox-adm-2');
    assert.equal(detail.status, 200);
    const d = detail.json as { connected: boolean; certificates: Array<{ revoked: string | null }> };
    assert.equal(d.connected, true);
    assert.equal(d.certificates.length, 2);
    assert.equal(d.certificates[0]?.revoked, null, 'the newest certificate is valid');
    assert.notEqual(d.certificates[1]?.revoked, null, 'the revoked one stays on record');
  });

  it('keeps the current certificate valid when only a new token is issued', async () => {
    await h.api('/api/v1/devices', { method: 'POST', body: { id: 'ox-adm-3', model: 'X', serial: 'S3' } });
    const t = await h.api('/api/v1/devices/ox-adm-3/enrollment-token', { method: 'POST' });
    const creds = await enrolWith('ox-adm-3', (t.json as { token: string }).token);
    await h.api('/api/v1/devices/ox-adm-3/enrollment-token', { method: 'POST' });
    await h.connect(creds, 'ox-adm-3');
    assert.equal((await lastAudit('device.enrollment-token'))?.resource, 'Device/ox-adm-3');
  });

  it('reassigns a device to another patient, audited with the patient', async () => {
    const r = await h.api('/api/v1/devices/ox-adm-1/patient', {
      method: 'PUT',
      body: { patientId: 'p-adm-2' },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal((r.json as { patientId: string }).patientId, 'p-adm-2');
    assert.equal(h.vigil.directory.patientAt('ox-adm-1', Date.now() + 1000), 'p-adm-2');
    const audit = await lastAudit('device.assign');
    assert.equal(audit?.patient_id, 'p-adm-2');
  });

  it('refuses an assignment dated in the future or before the current one began', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const past = new Date(Date.now() - 86_400_000).toISOString();
    for (const from of [future, past]) {
      const r = await h.api('/api/v1/devices/ox-adm-1/patient', {
        method: 'PUT',
        body: { patientId: 'p-adm-1', from },
      });
      assert.equal(r.status, 400, from);
    }
    const unknown = await h.api('/api/v1/devices/no-such/patient', {
      method: 'PUT',
      body: { patientId: 'p-adm-1' },
    });
    assert.equal(unknown.status, 404);
  });
});
