import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'fhir-kit-client';
import { Agent } from 'undici';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { fhirSchemaErrors } from '../src/fhir/fhir-schema.ts';
import { type Harness, startHarness, telemetry } from './support/vigil-harness.ts';

type Resource = { resourceType: string; id: string } & Record<string, unknown>;
type Bundle = Resource & {
  type: string;
  entry?: Array<{ resource: Resource; fullUrl: string; search?: { mode: string } }>;
  link?: Array<{ relation: string; url: string }>;
};

const DAY = 86_400_000;
const STEP = 20 * 60_000;

/** Every resource Vigil answers must be valid R4 by the official JSON schema. */
function valid<T>(resource: T): T {
  assert.deepEqual(fhirSchemaErrors(resource), [], JSON.stringify(resource).slice(0, 400));
  for (const entry of (resource as Bundle).entry ?? [])
    assert.deepEqual(fhirSchemaErrors(entry.resource), [], JSON.stringify(entry.resource).slice(0, 400));
  return resource;
}

const ofType = (b: Bundle, type: string) =>
  (b.entry ?? []).map((e) => e.resource).filter((r) => r.resourceType === type);

/** The reference of a patient's own request, which an identified export for them must name. */
const SAR = '&reason=subject%20access%20request%20SAR-2026-114%20received%202026-12-01';

describe('FHIR Patient $everything, de-identified export, AuditEvent and Consent', () => {
  let h: Harness;
  let agent: Agent;
  let auditor: string;
  let stranger: string;
  // Three days of readings, one message every 20 minutes: several export steps.
  const start = Math.floor((Date.now() - 3 * DAY) / 3_600_000) * 3_600_000;
  const times = Array.from({ length: Math.floor((3 * DAY - 3_600_000) / STEP) }, (_, i) => start + i * STEP);
  let consentId = '';

  const get = (path: string, token?: string) => h.api(path, { token: token ?? h.clinicianToken });
  const fhirClient = (token: string) =>
    new Client({
      baseUrl: `${h.baseUrl}/fhir/R4`,
      bearerToken: token,
      requestOptions: { dispatcher: agent },
    });
  const ingest = (deviceId: string, seq: number, tsMs: number, value: number) =>
    h.vigil.pipeline.accept(
      deviceId,
      Buffer.from(
        telemetry(
          seq,
          [
            { code: '8867-4', value, unit: '/min' },
            { code: '59408-5', value: 95, unit: '%' },
          ],
          new Date(tsMs),
        ),
      ),
      'http',
    );

  before(async () => {
    h = await startHarness();
    agent = new Agent({ connect: { ca: h.caPem } });
    const tokens = new ApiTokens(h.vigil.store.db);
    auditor = (await tokens.create({ role: 'auditor', name: 'privacy-officer', ttlSeconds: 3600 })).token;
    stranger = (await tokens.create({ role: 'clinician', name: 'dr-elsewhere', ttlSeconds: 3600 })).token;
    await h.vigil.patients.add('exp-ada', { name: 'Ada Quartermain', birthDate: '1948-03-11' });
    await h.care('exp-ada');
    await h.enrol('exp-ox', 'exp-ada', start - DAY);
    await h.enrol('exp-old', 'exp-ada', start - DAY);
    for (const [i, t] of times.entries()) await ingest('exp-ox', i + 1, t, 60 + (i % 40));
    await ingest('exp-old', 1, start + 30_000, 77);
    // The old device moves on to another patient: still Ada's device for the past.
    await h.vigil.patients.add('exp-bob', { name: 'Bob Otherman' });
    await h.vigil.devices.assign('exp-old', 'exp-bob');
    await h.vigil.directory.refresh();
    const consent = await h.api('/api/v1/patients/exp-ada/consents', {
      method: 'POST',
      body: { decision: 'deny', purposes: ['research'], categories: ['*'] },
    });
    assert.equal(consent.status, 201, consent.text);
    consentId = (consent.json as { id: string }).id;
    await h.vigil.patients.add('exp-old-age', { name: 'Olga Eldest', birthDate: '1930-01-02' });
    await h.care('exp-old-age');
  });
  after(async () => {
    await agent.close();
    await h.stop();
  });

  it('exports the whole record as a valid searchset Bundle (fhir-kit-client)', async () => {
    const bundle = valid(
      (await fhirClient(h.clinicianToken).operation({
        name: '$everything',
        resourceType: 'Patient',
        id: 'exp-ada',
        method: 'GET',
      })) as Bundle,
    );
    assert.equal(bundle.type, 'searchset');
    assert.equal(bundle.entry![0]!.resource.resourceType, 'Patient');
    assert.equal(bundle.entry![0]!.search?.mode, 'match');
    const devices = ofType(bundle, 'Device');
    assert.deepEqual(devices.map((d) => [d.id, d.patient]).sort(), [
      ['exp-old', undefined],
      ['exp-ox', { reference: 'Patient/exp-ada' }],
    ]);
    assert.doesNotMatch(JSON.stringify(bundle), /exp-bob/, "another patient's id stays out");
    assert.deepEqual(
      ofType(bundle, 'Consent').map((c) => c.id),
      [consentId],
    );
    const observations = ofType(bundle, 'Observation');
    assert.equal(observations.length, times.length * 2 + 2);
    // The same Observations, with the same ids, as a search gives.
    const search = await get(`/fhir/R4/Observation?patient=exp-ada&_count=1000`);
    const searched = (search.json as Bundle).entry!.map((e) => e.resource.id);
    assert.deepEqual(
      observations.map((o) => o.id),
      searched,
    );
  });

  it('audits the export with its purpose', async () => {
    const r = await get('/api/v1/audit?patient=exp-ada&action=patient.export', h.adminToken);
    assert.equal(r.status, 403, 'administrators do not read the trail');
    const trail = await get('/api/v1/audit?patient=exp-ada&action=patient.export', auditor);
    const entries = (trail.json as { entries: Array<{ purpose: string; outcome: string }> }).entries;
    assert.ok(entries.some((e) => e.purpose === 'treatment' && e.outcome === 'success'));
  });

  it('refuses a clinician off the care team, a denied consent, an administrator, and an identified auditor export', async () => {
    const refusals: Array<[string, string]> = [
      ['/fhir/R4/Patient/exp-ada/$everything', stranger],
      ['/fhir/R4/Patient/exp-ada/$everything?purpose=research', h.clinicianToken],
      ['/fhir/R4/Patient/exp-ada/$everything', h.adminToken],
      ['/fhir/R4/Patient/exp-ada/$everything', auditor],
      ['/fhir/R4/Patient/exp-ada/$everything?purpose=research&_deidentify=safe-harbor', auditor],
      [`/fhir/R4/Patient/exp-ada/$everything?purpose=patient-request${SAR}`, h.clinicianToken],
    ];
    for (const [path, token] of refusals) {
      const r = await get(path, token);
      assert.equal(r.status, 403, `${path}: ${r.text}`);
      assert.equal((r.json as Resource).resourceType, 'OperationOutcome');
    }
    const trail = await get('/api/v1/audit?patient=exp-ada&action=patient.export', auditor);
    const denied = (trail.json as { entries: Array<{ actor: string; outcome: string }> }).entries.filter(
      (e) => e.outcome === 'denied',
    );
    assert.ok(denied.some((e) => e.actor === 'token:dr-elsewhere'));
  });

  it("lets the privacy officer export on the patient's own request", async () => {
    const r = await get(`/fhir/R4/Patient/exp-ada/$everything?purpose=patient-request${SAR}`, auditor);
    assert.equal(r.status, 200, r.text);
    assert.equal(ofType(valid(r.json as Bundle), 'Patient')[0]!.id, 'exp-ada');
  });

  it('refuses bad parameters with an OperationOutcome', async () => {
    for (const q of ['_deidentify=k-anonymity', 'purpose=marketing', 'purpose=a&purpose=b', 'start=2026']) {
      const r = await get(`/fhir/R4/Patient/exp-ada/$everything?${q}`);
      assert.equal(r.status, 400, `${q}: ${r.text}`);
    }
    // 404 to the privacy officer, who may know every patient; a clinician is refused as for a
    // patient outside their care team, so an export cannot probe which ids exist.
    assert.equal(
      (await get(`/fhir/R4/Patient/nobody/$everything?purpose=patient-request${SAR}`, auditor)).status,
      404,
    );
    assert.equal((await get('/fhir/R4/Patient/nobody/$everything')).status, 403);
  });

  it('de-identifies by Safe Harbor: no identifier left, dates shifted by one offset, still valid R4', async () => {
    const plain = (await get('/fhir/R4/Patient/exp-ada/$everything')).json as Bundle;
    const r = await get('/fhir/R4/Patient/exp-ada/$everything?_deidentify=safe-harbor');
    assert.equal(r.status, 200, r.text);
    const bundle = valid(r.json as Bundle);
    const patient = ofType(bundle, 'Patient')[0]!;
    assert.equal(patient.birthDate, '1948');
    const identifiers = [
      'exp-ada',
      'Ada',
      'Quartermain',
      '1948-03',
      'exp-ox',
      'SN-exp-ox',
      'exp-old',
      consentId,
    ];
    const realTimes = ofType(plain, 'Observation').map((o) => String(o.effectiveDateTime));
    const realIds = ofType(plain, 'Observation').map((o) => o.id);
    for (const secret of [...identifiers, ...realTimes.slice(0, 50), ...realIds.slice(0, 50)])
      assert.ok(!r.text.includes(secret), `${secret} appears in the de-identified export`);
    const shifted = ofType(bundle, 'Observation').map((o) => Date.parse(String(o.effectiveDateTime)));
    assert.equal(shifted.length, realTimes.length);
    const offsets = new Set(shifted.map((t, i) => t - Date.parse(realTimes[i]!)));
    assert.equal(offsets.size, 1, 'one offset for every reading: intervals stay exact');
    const offset = [...offsets][0]!;
    assert.ok(offset !== 0 && offset % DAY === 0 && Math.abs(offset) <= 365 * DAY, `offset ${offset}`);
    // References point at the pseudonymous resources inside the Bundle.
    const deviceIds = new Set(ofType(bundle, 'Device').map((d) => `Device/${d.id}`));
    for (const o of ofType(bundle, 'Observation')) {
      assert.ok(deviceIds.has((o.device as { reference: string }).reference));
      assert.equal((o.subject as { reference: string }).reference, `Patient/${patient.id}`);
    }
    const again = (await get('/fhir/R4/Patient/exp-ada/$everything?_deidentify=safe-harbor')).json as Bundle;
    assert.equal(ofType(again, 'Patient')[0]!.id, patient.id, 'the pseudonym is stable');
  });

  it('lets no date of a de-identified Bundle tell the export time, which would give its offset away', async () => {
    const plain = (await get('/fhir/R4/Patient/exp-ada/$everything')).json as Bundle;
    const beforeMs = Date.now();
    const r = await get('/fhir/R4/Patient/exp-ada/$everything?_deidentify=safe-harbor');
    const afterMs = Date.now();
    const bundle = r.json as Bundle;
    const realFirst = Date.parse(String(ofType(plain, 'Observation')[0]!.effectiveDateTime));
    const offset = Date.parse(String(ofType(bundle, 'Observation')[0]!.effectiveDateTime)) - realFirst;
    // Every reading and consent predates the request: unshifted, no date may fall inside it.
    const dates: string[] = [];
    JSON.stringify(bundle, (_key, value: unknown) => {
      if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) dates.push(value);
      return value;
    });
    assert.ok(dates.length > times.length, 'the Bundle holds dates to judge');
    for (const date of dates) {
      const realMs = Date.parse(date) - offset;
      assert.ok(realMs < beforeMs || realMs > afterMs, `${date} is the export time shifted by the offset`);
    }
    assert.equal(bundle.timestamp, undefined);
  });

  it('aggregates ages over 89 into 90+', async () => {
    const r = await get('/fhir/R4/Patient/exp-old-age/$everything?_deidentify=safe-harbor');
    const patient = ofType(valid(r.json as Bundle), 'Patient')[0]!;
    assert.equal(patient.birthDate, undefined);
    assert.deepEqual(patient.extension, [{ url: 'urn:vigil:fhir:extension:age-group', valueString: '90+' }]);
    // The year as a word of its own: a pseudonym's hex digits may hold "1930" by chance.
    assert.doesNotMatch(r.text, /\b1930\b|Olga|Eldest|exp-old-age/);
  });

  it('searches and reads AuditEvents, pages with next links, and audits the search', async () => {
    const auditClient = fhirClient(auditor);
    const found = valid(
      (await auditClient.search({
        resourceType: 'AuditEvent',
        searchParams: { patient: 'exp-ada', subtype: 'patient.export', _count: 2 },
      })) as Bundle,
    );
    assert.equal(found.entry!.length, 2);
    const seen = [...found.entry!.map((e) => e.resource)];
    let page: Bundle = found;
    for (let i = 0; i < 50; i++) {
      const next = auditClient.nextPage({ bundle: page as never });
      if (!next) break;
      page = valid((await next) as Bundle);
      seen.push(...(page.entry ?? []).map((e) => e.resource));
    }
    const trail = await get('/api/v1/audit?patient=exp-ada&action=patient.export&limit=1000', auditor);
    assert.equal(seen.length, (trail.json as { entries: unknown[] }).entries.length);
    for (const e of seen) {
      assert.equal(e.action, 'R');
      assert.deepEqual(e.subtype, [{ system: 'urn:vigil:audit-action', code: 'patient.export' }]);
    }
    const read = valid((await auditClient.read({ resourceType: 'AuditEvent', id: seen[0]!.id })) as Resource);
    assert.deepEqual(read, seen[0]);
    const creates = (await get('/fhir/R4/AuditEvent?action=C&_count=1000', auditor)).json as Bundle;
    assert.ok(creates.entry!.length > 0);
    assert.ok(creates.entry!.every((e) => e.resource.action === 'C'));
    const enrolled = (await get('/fhir/R4/AuditEvent?entity=Device/exp-ox', auditor)).json as Bundle;
    assert.ok(enrolled.entry!.length > 0);
    for (const e of enrolled.entry!)
      assert.ok(JSON.stringify(e.resource.entity).includes('"reference":"Device/exp-ox"'));
    const future = new Date(Date.now() + DAY).toISOString();
    const none = (await get(`/fhir/R4/AuditEvent?date=ge${future}`, auditor)).json as Bundle;
    assert.equal(none.entry?.length ?? 0, 0);
    const self = await get('/api/v1/audit?action=audit.search&patient=exp-ada', auditor);
    assert.ok((self.json as { entries: unknown[] }).entries.length > 0, 'reading the trail is on the trail');
    assert.equal((await get('/fhir/R4/AuditEvent', h.clinicianToken)).status, 403);
    assert.equal((await get('/fhir/R4/AuditEvent/999999999', auditor)).status, 404);
    assert.equal((await get('/fhir/R4/AuditEvent?action=X', auditor)).status, 400);
  });

  it('searches and reads Consents from the consent records', async () => {
    const bundle = valid((await get('/fhir/R4/Consent?patient=Patient/exp-ada')).json as Bundle);
    const [consent] = ofType(bundle, 'Consent');
    assert.equal(consent?.id, consentId);
    assert.equal(consent?.status, 'active');
    const provision = consent?.provision as { type: string; purpose: Array<{ code: string }> };
    assert.equal(provision.type, 'deny');
    assert.deepEqual(
      provision.purpose.map((p) => p.code),
      ['HRESCH'],
    );
    const read = valid((await get(`/fhir/R4/Consent/${consentId}`, auditor)).json as Resource);
    assert.deepEqual(read, consent);
    const inactive = (await get('/fhir/R4/Consent?patient=exp-ada&status=inactive')).json as Bundle;
    assert.equal(inactive.entry?.length ?? 0, 0);
    assert.equal((await get('/fhir/R4/Consent?status=active')).status, 400);
    assert.equal((await get('/fhir/R4/Consent/consent-nope')).status, 404);
    // A clinician outside the care team reads no patient's consent records (patient-gate.ts).
    assert.equal((await get('/fhir/R4/Consent?patient=exp-ada', stranger)).status, 403);
    assert.equal((await get(`/fhir/R4/Consent/${consentId}`, stranger)).status, 404);
    assert.equal((await get('/fhir/R4/Consent?patient=exp-ada', h.adminToken)).status, 200);
  });
});
