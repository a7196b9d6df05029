/**
 * A clinician cannot probe which patient ids exist: on every read path with a patient in it,
 * an id that names nobody (or an erased patient who was never theirs) is answered exactly as a
 * registered patient outside their care team is: the same status, the same problem document
 * or OperationOutcome (the id aside), the same denied audit entry, and the same emergency-access
 * offer. Only breaking the glass, with a reason that is audited and reported, says the id names
 * nobody. A patient's consent records are their data too: a clinician reads them only with a
 * care-team link or a running break-glass grant. Roles that may know every patient (admin,
 * integration, the audit trail's readers) still get 404, and an integration gets that 404 for
 * a patient whose consent refuses it too. Over HTTPS on a real Vigil.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { observationId } from '../src/fhir/observation-id.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

const OWN = 'pp-own';
/** On the clinician's care team, with a consent that refuses treatment use of vital signs. */
const OWN_REFUSING = 'pp-own-refusing';
/** Outside the care team, with consent records: they must not answer otherwise than NOBODY. */
const FOREIGN = 'pp-foreign';
/** Outside the care team; the clinician breaks the glass for them. */
const GLASS = 'pp-glass';
/** With a consent refusing treatment use of everything: the integration may not read them. */
const REFUSING = 'pp-refusing';
const NOBODY = 'pp-nobody';
const ERASED_FOREIGN = 'pp-erased-foreign';
const ERASED_OWN = 'pp-erased-own';

type Consent = { decision: 'permit' | 'deny'; purposes: string[]; categories: string[] };
const RESEARCH_PERMIT: Consent = { decision: 'permit', purposes: ['research'], categories: ['vital-signs'] };
const PAYMENT_DENY: Consent = { decision: 'deny', purposes: ['payment'], categories: ['*'] };
const VITALS_DENY: Consent = { decision: 'deny', purposes: ['treatment'], categories: ['vital-signs'] };
const TREATMENT_DENY: Consent = { decision: 'deny', purposes: ['treatment'], categories: ['*'] };

describe('no probing of patient ids by status', () => {
  let h: Harness;
  let integration: string;
  let auditor: string;
  before(async () => {
    h = await startHarness();
    for (const id of [OWN, OWN_REFUSING, FOREIGN, GLASS, REFUSING, ERASED_FOREIGN, ERASED_OWN])
      await h.vigil.patients.add(id, { name: `Probe ${id}` });
    await h.care(OWN);
    await h.care(OWN_REFUSING);
    await h.care(ERASED_OWN);
    const consents: Array<[string, Consent]> = [
      [OWN_REFUSING, VITALS_DENY],
      [FOREIGN, RESEARCH_PERMIT],
      [FOREIGN, PAYMENT_DENY],
      [GLASS, RESEARCH_PERMIT],
      [REFUSING, TREATMENT_DENY],
      [ERASED_FOREIGN, RESEARCH_PERMIT],
    ];
    for (const [id, body] of consents) {
      const r = await h.api(`/api/v1/patients/${id}/consents`, { method: 'POST', body });
      assert.equal(r.status, 201, r.text);
    }
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

  it('still tells a clinician an erased patient of their own care team is gone', async () => {
    for (const url of [
      `/api/v1/patients/${ERASED_OWN}/observations`,
      `/api/v1/patients/${ERASED_OWN}/consents`,
    ]) {
      const r = await h.api(url, { token: h.clinicianToken });
      assert.equal(r.status, 410, `${url}: ${r.text}`);
    }
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
      [FOREIGN, GLASS, OWN, OWN_REFUSING, REFUSING].map((id) => ({ id, access: 'administration' })),
    );
  });

  /** A consent record as the REST read shows it, without what the server chose (id, times). */
  const decisions = (body: unknown) =>
    (body as { consents: Array<Consent & { status: string }> }).consents.map((c) => ({
      decision: c.decision,
      purposes: c.purposes,
      categories: c.categories,
      status: c.status,
    }));
  const active = (...cs: Consent[]) => cs.map((c) => ({ ...c, status: 'active' }));
  /** The FHIR search's hits for the patient, as Consent resources. */
  const fhirConsents = async (patient: string, token: string) => {
    const r = await h.api(`/fhir/R4/Consent?patient=${patient}`, { token });
    assert.equal(r.status, 200, r.text);
    return (r.json as { entry?: Array<{ resource: { id: string } }> }).entry ?? [];
  };

  it('refuses a clinician the consent records of a patient outside their care team, audited as any denied read', async () => {
    for (const url of [`/api/v1/patients/${FOREIGN}/consents`, `/fhir/R4/Consent?patient=${FOREIGN}`]) {
      const r = await h.api(url, { token: h.clinicianToken });
      assert.equal(r.status, 403, `${url}: ${r.text}`);
      assert.doesNotMatch(r.text, /research|payment/, url);
    }
    const r = await h.api(`/api/v1/patients/${FOREIGN}/consents`, { token: h.clinicianToken });
    const problem = r.json as { code: string; detail: string };
    assert.equal(problem.code, 'VIGIL_ERR_AUTH_FORBIDDEN');
    assert.match(problem.detail, /no care-team link \(an emergency may use break-glass/);
    const last = await h.vigil.store.db
      .selectFrom('audit_log')
      .select(['actor', 'action', 'resource', 'outcome'])
      .where('patient_id', '=', FOREIGN)
      .orderBy('seq', 'desc')
      .executeTakeFirst();
    assert.deepEqual(last, {
      actor: 'token:test-clinician',
      action: 'patient.access',
      resource: `Patient/${FOREIGN}`,
      outcome: 'denied',
    });
    const read = await h.vigil.store.db
      .selectFrom('audit_log')
      .select('seq')
      .where('patient_id', 'in', [FOREIGN, NOBODY])
      .where('action', '=', 'consent.read')
      .where('actor', '=', 'token:test-clinician')
      .execute();
    assert.deepEqual(read, [], 'no consent record was read for the clinician');
  });

  it("shows a care-team clinician their patient's consents, the one that keeps them out of the vitals included", async () => {
    const vitals = await h.api(`/api/v1/patients/${OWN_REFUSING}/observations`, { token: h.clinicianToken });
    assert.equal(vitals.status, 403, 'the consent refuses treatment use of vital signs');
    const r = await h.api(`/api/v1/patients/${OWN_REFUSING}/consents`, { token: h.clinicianToken });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(decisions(r.json), active(VITALS_DENY));
    const [hit, ...rest] = await fhirConsents(OWN_REFUSING, h.clinicianToken);
    assert.ok(hit, 'the FHIR search finds it too');
    assert.deepEqual(rest, []);
    const read = await h.api(`/fhir/R4/Consent/${hit.resource.id}`, { token: h.clinicianToken });
    assert.equal(read.status, 200, read.text);
    const own = await h.api(`/api/v1/patients/${OWN}/consents`, { token: h.clinicianToken });
    assert.deepEqual(own.json, { consents: [] }, 'a patient of theirs with none on file');
  });

  it('opens the consent records to a clinician with emergency access, and only while it runs', async () => {
    const url = `/api/v1/patients/${GLASS}/consents`;
    assert.equal((await h.api(url, { token: h.clinicianToken })).status, 403);
    const glass = await h.api(`/api/v1/patients/${GLASS}/break-glass`, {
      method: 'POST',
      token: h.clinicianToken,
      body: { reason: 'found unresponsive, allergies and consents needed now' },
    });
    assert.equal(glass.status, 201, glass.text);
    const r = await h.api(url, { token: h.clinicianToken });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(decisions(r.json), active(RESEARCH_PERMIT));
    assert.equal((await fhirConsents(GLASS, h.clinicianToken)).length, 1);
    await h.vigil.store.db
      .updateTable('break_glass')
      .set({ expires_ms: Date.now() - 1 })
      .where('patient_id', '=', GLASS)
      .execute();
    assert.equal((await h.api(url, { token: h.clinicianToken })).status, 403, 'after the grant ends');
  });

  it('lets administrators and auditors read every patient’s consent records, as before', async () => {
    for (const token of [h.adminToken, auditor]) {
      const r = await h.api(`/api/v1/patients/${FOREIGN}/consents`, { token });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(
        decisions(r.json).sort((a, b) => a.decision.localeCompare(b.decision)),
        active(PAYMENT_DENY, RESEARCH_PERMIT),
      );
      assert.equal((await fhirConsents(FOREIGN, token)).length, 2);
      const erased = await h.api(`/api/v1/patients/${ERASED_FOREIGN}/consents`, { token });
      assert.equal(erased.status, 404, 'an erased patient’s records are gone with them');
    }
  });

  it('answers a clinician’s FHIR read of a foreign patient’s consent as one that does not exist', async () => {
    const [hit] = await fhirConsents(FOREIGN, auditor);
    assert.ok(hit);
    const foreign = await h.api(`/fhir/R4/Consent/${hit.resource.id}`, { token: h.clinicianToken });
    const unknownId = 'consent-00000000-0000-4000-8000-000000000000';
    const unknown = await h.api(`/fhir/R4/Consent/${unknownId}`, { token: h.clinicianToken });
    assert.equal(foreign.status, 404, foreign.text);
    assert.equal(
      foreign.text.replaceAll(hit.resource.id, '{id}'),
      unknown.text.replaceAll(unknownId, '{id}'),
    );
    assert.doesNotMatch(foreign.text, new RegExp(FOREIGN));
    assert.equal((await h.api(`/fhir/R4/Consent/${hit.resource.id}`, { token: auditor })).status, 200);
  });

  it('answers an integration for a patient refusing it exactly as for an unknown id, on every read path', async () => {
    const reading = { deviceId: 'pp-dev', code: '8867-4', tsMs: Date.parse('2026-12-01T10:00:00Z'), n: 0 };
    const paths = [...readPaths(), '/fhir/R4/Observation/:obs'];
    const refusals = [];
    for (const url of paths) {
      const at = (patient: string) =>
        answer(url.replace(':obs', observationId(patient, reading)), patient, integration).then((a) => ({
          ...a,
          body: a.body.replaceAll(observationId(patient, reading), '{obs}'),
        }));
      const refusing = await at(REFUSING);
      assert.deepEqual(refusing, await at(NOBODY), url);
      if (refusing.status === 404) refusals.push(url);
    }
    // Where the integration may read at all (not the consents, alert rules or break-glass).
    assert.ok(refusals.length >= 5, refusals.join(', '));
    const r = await h.api(`/api/v1/patients/${REFUSING}/observations`, { token: integration });
    assert.equal((r.json as { code: string }).code, 'VIGIL_ERR_PATIENT_UNKNOWN');
    const listed = await h.api('/api/v1/patients', { token: integration });
    const ids = (listed.json as { patients: Array<{ id: string }> }).patients.map((p) => p.id);
    assert.ok(ids.includes(FOREIGN) && !ids.includes(REFUSING), ids.join(', '));
    // A patient refusing only vital signs is still one the integration sees (FHIR Patient):
    // their readings are refused, with the reason, not made out to be nobody's.
    const seen = await h.api(`/fhir/R4/Patient/${OWN_REFUSING}`, { token: integration });
    assert.equal(seen.status, 200, seen.text);
    const vitals = await h.api(`/api/v1/patients/${OWN_REFUSING}/observations`, { token: integration });
    assert.equal(vitals.status, 403, vitals.text);
    assert.equal((vitals.json as { code: string }).code, 'VIGIL_ERR_AUTH_FORBIDDEN');
  });

  it('still audits an integration’s refused read of a patient who refuses it, and its reads of unknown ids alike', async () => {
    const denied = async (patient: string) => {
      await h.api(`/api/v1/patients/${patient}/observations/latest`, { token: integration });
      return h.vigil.store.db
        .selectFrom('audit_log')
        .select(['actor', 'action', 'resource', 'outcome'])
        .where('patient_id', '=', patient)
        .orderBy('seq', 'desc')
        .executeTakeFirst();
    };
    const refusing = await denied(REFUSING);
    assert.deepEqual(refusing, {
      actor: 'token:pp-ehr',
      action: 'patient.access',
      resource: `Patient/${REFUSING}`,
      outcome: 'denied',
    });
    assert.deepEqual(await denied(NOBODY), { ...refusing, resource: `Patient/${NOBODY}` });
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
    // (GLASS's grant was ended above; OWN_REFUSING's consent keeps them off a list of vital signs.)
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
