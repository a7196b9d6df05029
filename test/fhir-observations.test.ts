import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'fhir-kit-client';
import { Agent } from 'undici';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { fhirSchemaErrors } from '../src/fhir/fhir-schema.ts';
import { type Harness, startHarness, telemetry } from './support/vigil-harness.ts';

type Resource = { resourceType: string; id: string } & Record<string, unknown>;
type Bundle = Resource & {
  entry?: Array<{ resource: Observation; fullUrl: string }>;
  link: Array<{ relation: string; url: string }>;
};
interface Observation extends Resource {
  code: { coding: Array<{ system: string; code: string }> };
  valueQuantity: { value: number; unit: string; system: string; code: string };
  effectiveDateTime: string;
  device: { reference: string };
  subject: { reference: string };
  category: Array<{ coding: Array<{ code: string }> }>;
  meta?: { profile: string[] };
}
interface RestObservation {
  code: string;
  value: number;
  unit: string;
  effective: string;
  device: string;
}

const MINUTE = 60_000;
const LOINC = 'http://loinc.org';

function valid<T>(resource: T): T {
  assert.deepEqual(fhirSchemaErrors(resource), [], JSON.stringify(resource).slice(0, 400));
  for (const entry of (resource as Bundle).entry ?? [])
    assert.deepEqual(fhirSchemaErrors(entry.resource), []);
  return resource;
}

/** An Observation in the REST API's terms, to compare the two answers reading by reading. */
const asRest = (o: Observation): RestObservation => ({
  code: o.code.coding[0]!.code,
  value: o.valueQuantity.value,
  unit: o.valueQuantity.code,
  effective: o.effectiveDateTime,
  device: o.device.reference.replace('Device/', ''),
});

describe('FHIR R4 Observation (fhir-kit-client over HTTPS)', () => {
  let h: Harness;
  let agent: Agent;
  let fhir: Client;
  const start = Math.floor((Date.now() - 4 * 3_600_000) / 3_600_000) * 3_600_000;
  const at = (m: number) => new Date(start + m * MINUTE).toISOString();

  /** Every page of a FHIR search, following next links with the client. */
  async function searchAll(searchParams: Record<string, string | number | string[]>): Promise<Observation[]> {
    const out: Observation[] = [];
    let bundle = valid((await fhir.search({ resourceType: 'Observation', searchParams })) as Bundle);
    for (let pages = 0; pages < 1000; pages++) {
      out.push(...(bundle.entry ?? []).map((e) => e.resource));
      const next = fhir.nextPage({ bundle: bundle as never });
      if (!next) return out;
      bundle = valid((await next) as Bundle);
    }
    throw new Error('too many pages');
  }

  /** Every page of the REST API's raw readings. */
  async function restAll(query: string): Promise<RestObservation[]> {
    const out: RestObservation[] = [];
    let cursor = '';
    for (;;) {
      const r = await h.api(`/api/v1/patients/obs-pat/observations?${query}&limit=70${cursor}`);
      assert.equal(r.status, 200, r.text);
      const page = r.json as { observations: RestObservation[]; next?: string };
      out.push(...page.observations);
      if (!page.next) return out;
      cursor = `&cursor=${page.next}`;
    }
  }

  async function ingest(
    deviceId: string,
    seq: number,
    readings: Array<{ code: string; value: number; unit: string; ts: string }>,
  ) {
    await h.vigil.pipeline.accept(
      deviceId,
      Buffer.from(telemetry(seq, readings, new Date(readings[0]!.ts))),
      'http',
    );
  }

  before(async () => {
    h = await startHarness();
    agent = new Agent({ connect: { ca: h.caPem } });
    fhir = new Client({
      baseUrl: `${h.baseUrl}/fhir/R4`,
      bearerToken: h.clinicianToken,
      requestOptions: { dispatcher: agent },
    });
    await h.enrol('obs-ox', 'obs-pat', start - 3_600_000);
    await h.enrol('obs-cgm', 'obs-pat', start - 3_600_000);
    for (let m = 0; m < 180; m++) {
      await ingest('obs-ox', m + 1, [
        { code: '8867-4', value: 60 + (m % 30), unit: '/min', ts: at(m) },
        { code: '59408-5', value: 94 + (m % 5), unit: '%', ts: at(m) },
      ]);
      if (m % 5 === 0)
        await ingest('obs-cgm', m + 1, [{ code: '2339-0', value: 110 + m / 5, unit: 'mg/dL', ts: at(m) }]);
    }
  });
  after(async () => {
    await agent.close();
    await h.stop();
  });

  it('gives the same readings as the REST API, in the same order, over several pages', async () => {
    const viaFhir = await searchAll({ patient: 'obs-pat', _count: 50 });
    const viaRest = await restAll(`from=${at(-60)}&to=${at(240)}`);
    assert.equal(viaFhir.length, 180 * 2 + 36);
    assert.deepEqual(viaFhir.map(asRest), viaRest);
  });

  it('gives the same readings as the REST API for a code and a time range', async () => {
    const viaFhir = await searchAll({
      subject: 'Patient/obs-pat',
      code: `${LOINC}|8867-4`,
      date: [`ge${at(30)}`, `lt${at(90)}`],
      _count: 25,
    });
    const viaRest = await restAll(
      `code=8867-4&from=${at(30)}&to=${new Date(start + 90 * MINUTE - 1).toISOString()}`,
    );
    assert.equal(viaFhir.length, 60);
    assert.deepEqual(viaFhir.map(asRest), viaRest);
  });

  it('sorts newest first with _sort=-date', async () => {
    const newest = await searchAll({ patient: 'obs-pat', code: '59408-5', _sort: '-date', _count: 40 });
    const oldest = await searchAll({ patient: 'obs-pat', code: '59408-5' });
    assert.deepEqual(
      newest.map((o) => o.id),
      oldest.map((o) => o.id).reverse(),
    );
  });

  it('answers vital-sign Observations in the R4 vital-signs profile, glucose as laboratory', async () => {
    const [found] = await searchAll({
      patient: 'obs-pat',
      code: '8867-4',
      date: `eq${at(0).slice(0, 16)}Z`.replace('Z', ':00Z'),
    });
    const hr = found!;
    assert.deepEqual(hr.meta?.profile, ['http://hl7.org/fhir/StructureDefinition/vitalsigns']);
    assert.equal(hr.category[0]!.coding[0]!.code, 'vital-signs');
    assert.deepEqual(hr.code.coding[0], { system: LOINC, code: '8867-4', display: 'Heart rate' });
    assert.deepEqual(hr.valueQuantity, {
      value: 60,
      unit: '/min',
      system: 'http://unitsofmeasure.org',
      code: '/min',
    });
    assert.equal(hr.effectiveDateTime, at(0));
    assert.deepEqual(hr.subject, { reference: 'Patient/obs-pat' });
    assert.deepEqual(hr.device, { reference: 'Device/obs-ox' });
    const glucose = (await searchAll({ patient: 'obs-pat', code: `${LOINC}|2339-0`, _count: 1 }))[0]!;
    assert.equal(glucose.category[0]!.coding[0]!.code, 'laboratory');
    assert.equal(glucose.meta, undefined);
  });

  it('reads each Observation back by its id', async () => {
    const page = await searchAll({ patient: 'obs-pat', date: [`ge${at(100)}`, `le${at(101)}`] });
    assert.equal(page.length, 2 * 2 + 1);
    for (const o of page)
      assert.deepEqual(valid(await fhir.read({ resourceType: 'Observation', id: o.id })), o);
  });

  it('pages stably while new readings arrive', async () => {
    const first = valid(
      (await fhir.search({
        resourceType: 'Observation',
        searchParams: { patient: 'obs-pat', code: '8867-4', _count: 100 },
      })) as Bundle,
    );
    await ingest('obs-ox', 500, [{ code: '8867-4', value: 99, unit: '/min', ts: at(200) }]);
    const rest = valid((await fhir.nextPage({ bundle: first as never })) as Bundle);
    const ids = [...first.entry!, ...rest.entry!].map((e) => e.resource.id);
    assert.equal(new Set(ids).size, ids.length, 'no reading twice');
    assert.equal(ids.length, 181, 'the new reading is on the later page');
  });

  it('answers unsupported or malformed searches with OperationOutcomes', async () => {
    for (const query of [
      'code=8867-4',
      'patient=obs-pat&date=sa2026-01-01',
      'patient=obs-pat&date=2026-13-01',
      'patient=obs-pat&_sort=value',
      'patient=obs-pat&code=heart',
      'patient=obs-pat&_count=0',
      'patient=obs-pat&_cursor=bad',
      'patient=obs-pat&value-quantity=gt100',
      'patient=Device/obs-ox',
    ]) {
      const r = await h.api(`/fhir/R4/Observation?${query}`, { token: h.clinicianToken });
      assert.equal(r.status, 400, `${query}: ${r.text}`);
      assert.match(String(r.headers['content-type']), /application\/fhir\+json/);
      valid(r.json);
      assert.equal((r.json as { issue: Array<{ code: string }> }).issue[0]!.code, 'invalid');
    }
    // 404 to an integration; a clinician is refused as for a foreign patient's Observation
    // (test/fhir-observation-read-patients.test.ts).
    const integration = await new ApiTokens(h.vigil.store.db).create({
      role: 'integration',
      name: 'obs-feed',
      ttlSeconds: 600,
    });
    const missing = await h.api('/fhir/R4/Observation/0000000000.000000.8867-4.abc.0', {
      token: integration.token,
    });
    assert.equal(missing.status, 404);
  });
});
