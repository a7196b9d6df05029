/**
 * Who may read a patient's data, on every read path the route table has: a clinician through
 * a care-team link while consent permits, an integration while consent permits, break-glass
 * in an emergency (reported to security), nobody else. Every route with a patient in its path
 * is tried for an own and a foreign patient, with and without consent, so a route added
 * without the check fails here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { type Harness, publishQos1, startHarness } from './support/vigil-harness.ts';

/** Routes with a patient in the path that are not reads of the patient's data, and why. */
const NOT_PATIENT_DATA: Record<string, string> = {
  'POST /api/v1/patients/:id/break-glass': 'the emergency way in itself; tested below',
  'GET /api/v1/patients/:id/break-glass': "the caller's own grant and its end, no patient data; tested below",
  'POST /api/v1/patients/:id/erase': 'admin-only erasure; admins read no patient data',
  'GET /api/v1/patients/:id/consents': 'consent records are read under consents:read by admins and auditors',
  'POST /api/v1/patients/:id/consents': 'admin-only consent recording',
  'POST /api/v1/patients/:id/consents/:consentId/revoke': 'admin-only consent recording',
  'PUT /api/v1/patients/:id/alert-rules': 'admin-only rule tuning',
  'DELETE /api/v1/patients/:id/alert-rules': 'admin-only rule tuning',
  'GET /api/v1/patients/:id/alert-rules': 'thresholds, not patient data',
  'PUT /fhir/R4/Patient/:id': 'FHIR update under patients:write; it echoes what its writer sent',
};

describe('patient access: care teams, consent, break-glass', () => {
  let h: Harness;
  let integration: string;
  let security: string;
  before(async () => {
    h = await startHarness();
    for (const id of ['pa-own', 'pa-foreign']) await h.vigil.patients.add(id, { name: `Access ${id}` });
    await h.care('pa-own');
    const tokens = new ApiTokens(h.vigil.store.db);
    integration = (await tokens.create({ role: 'integration', name: 'ehr', ttlSeconds: 600 })).token;
    security = (await tokens.create({ role: 'security', name: 'soc', ttlSeconds: 600 })).token;
  });
  after(async () => {
    await h.stop();
  });

  const readAs = (token: string, patient: string, path = 'observations') =>
    h.api(`/api/v1/patients/${patient}/${path}`, { token });

  it('every GET route with a patient in its path refuses a clinician without a care-team link', async () => {
    const routes = h.vigil.routes.filter(
      (r) =>
        // The dashboard's client routes (/patients/:id) serve only the app shell.
        (r.url.startsWith('/api/v1/patients/:id') || r.url.startsWith('/fhir/R4/Patient/:id')) &&
        !(`${r.method} ${r.url}` in NOT_PATIENT_DATA),
    );
    assert.ok(routes.length >= 3, `patient routes found: ${routes.map((r) => r.url).join(', ')}`);
    for (const r of routes) {
      if (r.method !== 'GET') {
        assert.fail(
          `${r.method} ${r.url} reads or changes patient data: give it a rule here or in NOT_PATIENT_DATA`,
        );
      }
      const url = (p: string) => r.url.replace(':id', p);
      const own = await h.api(url('pa-own'), { token: h.clinicianToken });
      const foreign = await h.api(url('pa-foreign'), { token: h.clinicianToken });
      assert.notEqual(own.status, 403, `${r.url}: own patient refused: ${own.text}`);
      assert.equal(foreign.status, 403, `${r.url}: foreign patient answered ${foreign.status}`);
    }
  });

  it('FHIR searches and lists show a clinician only the patients of their care teams', async () => {
    const obs = await h.api('/fhir/R4/Observation?patient=pa-foreign', { token: h.clinicianToken });
    assert.equal(obs.status, 403);
    assert.equal((obs.json as { resourceType: string }).resourceType, 'OperationOutcome');
    const own = await h.api('/fhir/R4/Observation?patient=pa-own', { token: h.clinicianToken });
    assert.equal(own.status, 200, own.text);
    const search = await h.api('/fhir/R4/Patient?_id=pa-own,pa-foreign', { token: h.clinicianToken });
    const ids = ((search.json as { entry?: Array<{ resource: { id: string } }> }).entry ?? []).map(
      (e) => e.resource.id,
    );
    assert.deepEqual(ids, ['pa-own']);
    const list = await h.api('/api/v1/patients', { token: h.clinicianToken });
    assert.deepEqual(
      (list.json as { patients: Array<{ id: string }> }).patients.map((p) => p.id),
      ['pa-own'],
    );
  });

  it('a consent that denies treatment closes the care-team path and the integration path; revoking it reopens them', async () => {
    assert.equal((await readAs(h.clinicianToken, 'pa-own')).status, 200);
    assert.equal((await readAs(integration, 'pa-foreign')).status, 200);
    const denyOwn = await h.api('/api/v1/patients/pa-own/consents', {
      method: 'POST',
      body: { decision: 'deny', purposes: ['treatment'], categories: ['*'] },
    });
    assert.equal(denyOwn.status, 201, denyOwn.text);
    const refused = await readAs(h.clinicianToken, 'pa-own');
    assert.equal(refused.status, 403);
    assert.match((refused.json as { detail: string }).detail, /consent .* denies treatment/);
    const { id } = denyOwn.json as { id: string };
    const revoked = await h.api(`/api/v1/patients/pa-own/consents/${id}/revoke`, { method: 'POST' });
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal((await readAs(h.clinicianToken, 'pa-own')).status, 200);

    await h.api('/api/v1/patients/pa-foreign/consents', {
      method: 'POST',
      body: { decision: 'deny', purposes: ['*'], categories: ['vital-signs'] },
    });
    assert.equal((await readAs(integration, 'pa-foreign')).status, 403);
  });

  /** Raises a low-glucose alert for the patient through a real device. */
  const raiseAlert = async (deviceId: string, patientId: string) => {
    const client = await h.connect(await h.enrol(deviceId, patientId), deviceId);
    const payload = JSON.stringify({
      seq: 1,
      ts: new Date().toISOString(),
      readings: [{ code: '2339-0', value: 40, unit: 'mg/dL' }],
    });
    assert.equal(await publishQos1(client, `v1/devices/${deviceId}/telemetry`, payload), 0);
    await h.vigil.alerts.idle();
    client.end(true);
  };
  const alertPatients = async () => {
    const r = await h.api('/api/v1/alerts', { token: h.clinicianToken });
    assert.equal(r.status, 200, r.text);
    return new Set((r.json as { alerts: Array<{ patient: string }> }).alerts.map((a) => a.patient));
  };

  it('a consent that denies alerts hides the patient from the alert list, not from the readings', async () => {
    await raiseAlert('pa-al-dev-1', 'pa-al-1');
    await raiseAlert('pa-al-dev-2', 'pa-al-2');
    assert.ok((await alertPatients()).has('pa-al-1'));
    const deny = await h.api('/api/v1/patients/pa-al-1/consents', {
      method: 'POST',
      body: { decision: 'deny', purposes: ['*'], categories: ['alerts'] },
    });
    assert.equal(deny.status, 201, deny.text);
    const visible = await alertPatients();
    assert.ok(!visible.has('pa-al-1'), 'the denied patient is not in the unfiltered list');
    assert.ok(visible.has('pa-al-2'));
    assert.equal((await h.api('/api/v1/alerts?patient=pa-al-1', { token: h.clinicianToken })).status, 403);
    assert.equal((await readAs(h.clinicianToken, 'pa-al-1')).status, 200);
  });

  it('audits an unfiltered alert list once for each patient in the answer', async () => {
    await raiseAlert('pa-al-dev-3', 'pa-al-3');
    const since = (await h.vigil.store.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .executeTakeFirst()) as { seq: number };
    const shown = await alertPatients();
    assert.ok(shown.size >= 2, [...shown].join());
    const entries = await h.vigil.store.db
      .selectFrom('audit_log')
      .select(['patient_id', 'resource'])
      .where('action', '=', 'alert.list')
      .where('seq', '>', since.seq)
      .execute();
    assert.deepEqual(
      entries.map((e) => e.patient_id).sort(),
      [...shown].sort(),
      'one entry per patient disclosed, and none for a patient withheld',
    );
    assert.ok(entries.every((e) => e.resource === `Patient/${e.patient_id}/Alert`));
  });

  it('refuses malformed consent records and unknown ones with a problem document', async () => {
    const post = (body: unknown) => h.api('/api/v1/patients/pa-own/consents', { method: 'POST', body });
    for (const body of [
      { decision: 'maybe', purposes: ['treatment'], categories: ['*'] },
      { decision: 'deny', purposes: [], categories: ['*'] },
      { decision: 'deny', purposes: ['astrology'], categories: ['*'] },
      {
        decision: 'deny',
        purposes: ['treatment'],
        categories: ['*'],
        start: '2026-12-01T00:00:00Z',
        end: '2026-11-01T00:00:00Z',
      },
    ]) {
      const r = await post(body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} answered ${r.status}`);
      assert.match(String(r.headers['content-type']), /problem\+json/);
    }
    const unknown = await h.api(
      '/api/v1/patients/pa-own/consents/consent-00000000-0000-4000-8000-000000000000/revoke',
      { method: 'POST' },
    );
    assert.equal(unknown.status, 404);
  });

  it('break-glass refuses a blank reason, one of spaces and filler, and one with control characters', async () => {
    await h.vigil.patients.add('pa-bg', { name: 'Access pa-bg' });
    const glass = (reason: string) =>
      h.api('/api/v1/patients/pa-bg/break-glass', {
        method: 'POST',
        token: h.clinicianToken,
        body: { reason },
      });
    for (const reason of [
      ' '.repeat(20),
      '\n'.repeat(20),
      `  ${'x '.repeat(12)}`,
      'unconscious in A&E,\u0000no care team reachable',
      'unconscious in A&E\nno care team reachable',
      'unconscious in A&E, \u202eno care team reachable',
    ]) {
      const r = await glass(reason);
      assert.equal(r.status, 400, `${JSON.stringify(reason)} answered ${r.status}`);
    }
    assert.equal((await readAs(h.clinicianToken, 'pa-bg')).status, 403, 'nothing was opened');
    const padded = await glass('   unconscious in A&E, no care team reachable  ');
    assert.equal(padded.status, 201, padded.text);
    const stored = await h.vigil.store.db
      .selectFrom('audit_log')
      .select('purpose')
      .where('action', '=', 'patient.break-glass')
      .where('patient_id', '=', 'pa-bg')
      .execute();
    assert.deepEqual(stored, [{ purpose: 'unconscious in A&E, no care team reachable' }]);
  });

  it('break-glass opens a foreign patient for a time, needs a reason, and tells security at once', async () => {
    assert.equal((await readAs(h.clinicianToken, 'pa-foreign')).status, 403);
    assert.deepEqual((await readAs(h.clinicianToken, 'pa-foreign', 'break-glass')).json, {
      active: false,
      expires: null,
    });
    const noReason = await h.api('/api/v1/patients/pa-foreign/break-glass', {
      method: 'POST',
      token: h.clinicianToken,
      body: { reason: 'because' },
    });
    assert.equal(noReason.status, 400);
    const glass = await h.api('/api/v1/patients/pa-foreign/break-glass', {
      method: 'POST',
      token: h.clinicianToken,
      body: { reason: 'unconscious in A&E, no care team reachable' },
    });
    assert.equal(glass.status, 201, glass.text);
    const running = await readAs(h.clinicianToken, 'pa-foreign', 'break-glass');
    assert.deepEqual(running.json, { active: true, expires: (glass.json as { expires: string }).expires });
    // Even the consent that denies vital signs gives way in an emergency.
    assert.equal((await readAs(h.clinicianToken, 'pa-foreign')).status, 200);

    const events = await h.api('/api/v1/security/events', { token: security });
    assert.ok(
      JSON.stringify(events.json).includes('VIGIL_ERR_BREAK_GLASS'),
      `security events: ${events.text.slice(0, 300)}`,
    );
  });

  it('roles that read no patient data are refused even with a care-team link', async () => {
    const auditor = (
      await new ApiTokens(h.vigil.store.db).create({ role: 'auditor', name: 'aud', ttlSeconds: 600 })
    ).token;
    for (const token of [h.adminToken, security, auditor]) {
      assert.equal((await readAs(token, 'pa-own')).status, 403);
    }
  });
});
