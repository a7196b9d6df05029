/**
 * A clinician cannot probe which patient ids exist: on every read path with a patient in it,
 * an id that names nobody (or an erased patient who was never theirs) is answered exactly as a
 * registered patient outside their care team is: the same status, the same problem document
 * or OperationOutcome (the id aside), the same denied audit entry, and the same emergency-access
 * offer. Only breaking the glass, with a reason that is audited and reported, says the id names
 * nobody. Roles that may know every patient (admin, integration, the audit trail's readers)
 * still get 404. Over HTTPS on a real Vigil.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

const OWN = 'pp-own';
const FOREIGN = 'pp-foreign';
const NOBODY = 'pp-nobody';
const ERASED_FOREIGN = 'pp-erased-foreign';
const ERASED_OWN = 'pp-erased-own';

describe('no probing of patient ids by status', () => {
  let h: Harness;
  let integration: string;
  let auditor: string;
  before(async () => {
    h = await startHarness();
    for (const id of [OWN, FOREIGN, ERASED_FOREIGN, ERASED_OWN])
      await h.vigil.patients.add(id, { name: `Probe ${id}` });
    await h.care(OWN);
    await h.care(ERASED_OWN);
    await h.vigil.patients.erase(ERASED_FOREIGN);
    await h.vigil.patients.erase(ERASED_OWN);
    const tokens = new ApiTokens(h.vigil.store.db);
    integration = (await tokens.create({ role: 'integration', name: 'pp-ehr', ttlSeconds: 600 })).token;
    auditor = (await tokens.create({ role: 'auditor', name: 'pp-aud', ttlSeconds: 600 })).token;
  });
  after(async () => {
    await h.stop();
  });

  /** An answer with the patient's id written as {id}, to compare one patient's with another's. */
  const answer = async (url: string, patient: string, token = h.clinicianToken) => {
    const r = await h.api(url.replaceAll(':id', patient), { token });
    return {
      status: r.status,
      type: String(r.headers['content-type']),
      body: r.text.replaceAll(patient, '{id}'),
    };
  };

  /** Every GET route with a patient in its path, as the server has them, and a few with it in the query. */
  const readPaths = () => [
    ...h.vigil.routes
      .filter(
        (r) =>
          r.method === 'GET' &&
          (r.url.startsWith('/api/v1/patients/:id') || r.url.startsWith('/fhir/R4/Patient/:id')),
      )
      .map((r) => r.url),
    '/api/v1/alerts?patient=:id',
    '/fhir/R4/Observation?patient=:id',
    '/fhir/R4/Consent?patient=:id',
  ];

  it('answers a clinician for an unknown id exactly as for a patient outside their care team', async () => {
    const paths = readPaths();
    assert.ok(paths.length >= 8, paths.join(', '));
    for (const url of paths) {
      const foreign = await answer(url, FOREIGN);
      assert.ok(
        foreign.status === 403 || foreign.status === 200,
        `${url}: ${foreign.status} ${foreign.body}`,
      );
      assert.deepEqual(await answer(url, NOBODY), foreign, url);
      assert.deepEqual(await answer(url, ERASED_FOREIGN), foreign, `${url}, erased`);
    }
  });

  it('refuses with the care-team detail the dashboard turns into the emergency-access offer', async () => {
    const r = await h.api(`/api/v1/patients/${NOBODY}/observations`, { token: h.clinicianToken });
    assert.equal(r.status, 403);
    assert.match(String(r.headers['content-type']), /application\/problem\+json/);
    const problem = r.json as { code: string; detail: string };
    assert.equal(problem.code, 'VIGIL_ERR_AUTH_FORBIDDEN');
    assert.match(problem.detail, /no care-team link \(an emergency may use break-glass/);
    assert.deepEqual(
      (await h.api(`/api/v1/patients/${NOBODY}/break-glass`, { token: h.clinicianToken })).json,
      {
        active: false,
        expires: null,
      },
    );
  });

  it('writes the same denied audit entry for an unknown id as for a foreign patient', async () => {
    const denied = async (patient: string) => {
      await h.api(`/api/v1/patients/${patient}/observations/latest`, { token: h.clinicianToken });
      return h.vigil.store.db
        .selectFrom('audit_log')
        .select(['actor', 'action', 'resource', 'outcome'])
        .where('patient_id', '=', patient)
        .where('outcome', '=', 'denied')
        .orderBy('seq', 'desc')
        .executeTakeFirst();
    };
    const foreign = await denied(FOREIGN);
    assert.deepEqual(foreign, {
      actor: 'token:test-clinician',
      action: 'patient.access',
      resource: `Patient/${FOREIGN}`,
      outcome: 'denied',
    });
    assert.deepEqual(await denied(NOBODY), { ...foreign, resource: `Patient/${NOBODY}` });
  });

  it('takes about as long for an unknown id as for a foreign patient', async () => {
    const timeOf = async (patient: string) => {
      const t0 = performance.now();
      await h.api(`/api/v1/patients/${patient}/observations/latest`, { token: h.clinicianToken });
      return performance.now() - t0;
    };
    const foreign: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 40; i++) {
      foreign.push(await timeOf(FOREIGN));
      unknown.push(await timeOf(`${NOBODY}-${i}`));
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
    const [f, u] = [median(foreign), median(unknown)];
    // Both run the gate's one facts query and append one audit entry: no step is skipped.
    assert.ok(u > f * 0.5 && u < f * 2 + 1, `median ${u.toFixed(2)} ms unknown, ${f.toFixed(2)} ms foreign`);
  });

  it('still tells a clinician an erased patient of their own care team is gone', async () => {
    const r = await h.api(`/api/v1/patients/${ERASED_OWN}/observations`, { token: h.clinicianToken });
    assert.equal(r.status, 410, r.text);
  });

  it('says an id names nobody only once the glass is broken for it, with the reason audited and reported', async () => {
    const glass = (reason: string) =>
      h.api(`/api/v1/patients/${NOBODY}/break-glass`, {
        method: 'POST',
        token: h.clinicianToken,
        body: { reason },
      });
    assert.equal((await glass(`  ${'x '.repeat(12)}`)).status, 400, 'a filler reason is refused first');
    const r = await glass('unconscious in A&E, wristband reads pp-nobody');
    assert.equal(r.status, 404, r.text);
    assert.equal((r.json as { code: string }).code, 'VIGIL_ERR_PATIENT_UNKNOWN');
    const audited = await h.vigil.store.db
      .selectFrom('audit_log')
      .select(['actor', 'purpose', 'outcome'])
      .where('action', '=', 'patient.break-glass')
      .where('patient_id', '=', NOBODY)
      .execute();
    assert.deepEqual(audited, [
      {
        actor: 'token:test-clinician',
        purpose: 'unconscious in A&E, wristband reads pp-nobody',
        outcome: 'failure',
      },
    ]);
    const events = await h.api('/api/v1/security/events?code=VIGIL_ERR_BREAK_GLASS');
    assert.ok(
      (events.json as { events: Array<{ detail: string }> }).events.some((e) =>
        e.detail.includes(`patient ${NOBODY}, who is not registered`),
      ),
      events.text.slice(0, 500),
    );
    const grants = await h.vigil.store.db
      .selectFrom('break_glass')
      .selectAll()
      .where('patient_id', '=', NOBODY)
      .execute();
    assert.deepEqual(grants, [], 'no grant is stored for nobody');
  });

  it('keeps 404 for the roles that may know every patient', async () => {
    const cases: Array<[string, string]> = [
      [`/api/v1/patients/${NOBODY}/observations`, integration],
      [`/fhir/R4/Patient/${NOBODY}`, integration],
      [`/fhir/R4/Patient/${NOBODY}`, h.adminToken],
      [`/api/v1/patients/${NOBODY}/consents`, h.adminToken],
      [`/api/v1/patients/${NOBODY}/consents`, auditor],
      [`/fhir/R4/Consent?patient=${NOBODY}`, auditor],
      [`/fhir/R4/Patient/${NOBODY}/$everything?_deidentify=safe-harbor`, auditor],
    ];
    for (const [url, token] of cases) {
      const r = await h.api(url, { token });
      assert.equal(r.status, 404, `${url}: ${r.text}`);
    }
    // And an administrator's list still names every registered patient, on its own basis.
    const list = await h.api('/api/v1/patients');
    const listed = (list.json as { patients: Array<{ id: string; access: string }> }).patients;
    assert.deepEqual(
      listed.filter((p) => p.id.startsWith('pp-')),
      [
        { id: FOREIGN, access: 'administration' },
        { id: OWN, access: 'administration' },
      ],
    );
  });

  it('shows a clinician their patients as care-team and an emergency one as break-glass, until when', async () => {
    const glass = await h.api(`/api/v1/patients/${FOREIGN}/break-glass`, {
      method: 'POST',
      token: h.clinicianToken,
      body: { reason: 'collapsed in the corridor, own ward team unreachable' },
    });
    assert.equal(glass.status, 201, glass.text);
    const list = await h.api('/api/v1/patients', { token: h.clinicianToken });
    const listed = (list.json as { patients: Array<{ id: string; access: string }> }).patients;
    assert.deepEqual(
      listed.filter((p) => p.id.startsWith('pp-')),
      [
        { id: FOREIGN, access: 'break-glass', accessExpires: (glass.json as { expires: string }).expires },
        { id: OWN, access: 'care-team' },
      ],
    );
    assert.equal(
      (await h.api('/api/v1/patients', { token: auditor })).status,
      403,
      'auditors list no patients',
    );
  });
});
