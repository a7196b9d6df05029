import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Client } from 'fhir-kit-client';
import { Agent } from 'undici';
import { fhirSchemaErrors } from '../src/fhir/fhir-schema.ts';
import { httpsRequest } from './support/https-client.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

type Resource = { resourceType: string; id?: string } & Record<string, unknown>;
type Bundle = Resource & {
  entry?: Array<{ resource: Resource; fullUrl: string }>;
  link: Array<{ relation: string; url: string }>;
};

/** Every resource Vigil answers must be valid R4 by the official JSON schema. */
function valid<T>(resource: T): T {
  assert.deepEqual(fhirSchemaErrors(resource), [], JSON.stringify(resource).slice(0, 400));
  for (const entry of (resource as Bundle).entry ?? [])
    assert.deepEqual(fhirSchemaErrors(entry.resource), []);
  return resource;
}

/** The FHIR server's error, as the client library hands it over. */
async function failure(p: Promise<unknown>): Promise<{ status: number; data: Resource }> {
  try {
    await p;
  } catch (e) {
    const r = (e as { response?: { status: number; data: Resource } }).response;
    if (r) return r;
    throw e;
  }
  throw new Error('expected the FHIR request to fail');
}

describe('FHIR R4 Patient and Device (fhir-kit-client over HTTPS)', () => {
  let h: Harness;
  let agent: Agent;
  let admin: Client;
  let clinician: Client;
  const client = (token: string) =>
    new Client({
      baseUrl: `${h.baseUrl}/fhir/R4`,
      bearerToken: token,
      // The client trusts Vigil's own CA, as a real integration does; nothing is left unverified.
      requestOptions: { dispatcher: agent },
    });

  before(async () => {
    h = await startHarness();
    agent = new Agent({ connect: { ca: h.caPem } });
    admin = client(h.adminToken);
    clinician = client(h.clinicianToken);
  });
  after(async () => {
    await agent.close();
    await h.stop();
  });

  it('tells what it implements in a valid CapabilityStatement, without a token', async () => {
    const cs = valid((await client('').capabilityStatement()) as Resource);
    assert.equal(cs.resourceType, 'CapabilityStatement');
    assert.equal(cs.fhirVersion, '4.0.1');
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    assert.deepEqual(cs.software, { name: 'Vigil', version });
    const rest = (
      cs.rest as Array<{ resource: Array<{ type: string; interaction: Array<{ code: string }> }> }>
    )[0]!;
    const offered = Object.fromEntries(
      rest.resource.map((r) => [r.type, r.interaction.map((i) => i.code).sort()]),
    );
    assert.deepEqual(offered, {
      Patient: ['create', 'read', 'search-type', 'update'],
      Device: ['create', 'read', 'search-type', 'update'],
      Observation: ['create', 'read', 'search-type'],
      AuditEvent: ['read', 'search-type'],
      Consent: ['read', 'search-type'],
    });
    const patient = rest.resource.find((r) => r.type === 'Patient') as unknown as {
      operation: Array<{ name: string; definition: string }>;
    };
    assert.deepEqual(
      patient.operation.map((o) => o.definition),
      ['http://hl7.org/fhir/OperationDefinition/Patient-everything'],
    );
  });

  it('creates, reads, updates and searches a Patient; the id is the one the CLI uses', async () => {
    const created = valid(
      (await admin.create({
        resourceType: 'Patient',
        body: {
          resourceType: 'Patient',
          name: [{ given: ['Ada'], family: 'Lovelace' }],
          birthDate: '1985-12-10',
        },
      })) as Resource,
    );
    const id = created.id!;
    assert.ok(await h.vigil.patients.exists(id), 'the FHIR id is the patient id');
    await h.care(id);
    const read = valid((await clinician.read({ resourceType: 'Patient', id })) as Resource);
    assert.deepEqual(read.name, [{ text: 'Ada Lovelace' }]);
    assert.equal(read.birthDate, '1985-12-10');

    const updated = valid(
      (await admin.update({
        resourceType: 'Patient',
        id,
        body: { resourceType: 'Patient', id, name: [{ text: 'Ada King' }], birthDate: '1985-12-10' },
      })) as Resource,
    );
    assert.deepEqual(updated.name, [{ text: 'Ada King' }]);
    assert.equal((await h.vigil.patients.get(id))?.name, 'Ada King', 'the store reads the resealed identity');

    await h.vigil.patients.add('p-cli', { name: 'From the CLI' });
    await h.care('p-cli');
    const bundle = valid(
      (await clinician.search({ resourceType: 'Patient', searchParams: { _id: `${id},p-cli` } })) as Bundle,
    );
    assert.equal(bundle.type, 'searchset');
    assert.deepEqual(bundle.entry!.map((e) => e.resource.id).sort(), [id, 'p-cli'].sort());
  });

  it('creates a Patient by update with a chosen id', async () => {
    const r = valid(
      (await admin.update({
        resourceType: 'Patient',
        id: 'p-chosen',
        body: { resourceType: 'Patient', id: 'p-chosen', name: [{ text: 'Chosen Id' }] },
      })) as Resource,
    );
    assert.equal(r.id, 'p-chosen');
    assert.equal((await h.vigil.patients.get('p-chosen'))?.name, 'Chosen Id');
  });

  it('pages a Patient search with next links', async () => {
    for (let i = 0; i < 5; i++) await h.vigil.patients.add(`p-page-${i}`, { name: `Page ${i}` });
    for (const p of await h.vigil.patients.listIds()) await h.care(p);
    const ids: string[] = [];
    let bundle = valid(
      (await clinician.search({ resourceType: 'Patient', searchParams: { _count: 2 } })) as Bundle,
    );
    for (;;) {
      ids.push(...(bundle.entry ?? []).map((e) => e.resource.id!));
      const next = clinician.nextPage({ bundle: bundle as never });
      if (!next) break;
      bundle = valid((await next) as Bundle);
    }
    assert.deepEqual(ids, (await h.vigil.patients.listIds()).sort());
  });

  it('creates a Device for a patient, finds it by patient, and reassigns it by update', async () => {
    await h.vigil.patients.add('p-dev-1', { name: 'Wearer One' });
    await h.vigil.patients.add('p-dev-2', { name: 'Wearer Two' });
    const created = valid(
      (await admin.create({
        resourceType: 'Device',
        body: {
          resourceType: 'Device',
          serialNumber: 'SN-42',
          modelNumber: 'OxiPro',
          patient: { reference: 'Patient/p-dev-1' },
        },
      })) as Resource,
    );
    const id = created.id!;
    assert.deepEqual(created.patient, { reference: 'Patient/p-dev-1' });
    const found = valid(
      (await clinician.search({
        resourceType: 'Device',
        searchParams: { patient: 'Patient/p-dev-1' },
      })) as Bundle,
    );
    assert.deepEqual(
      found.entry!.map((e) => e.resource.id),
      [id],
    );

    const moved = valid(
      (await admin.update({
        resourceType: 'Device',
        id,
        body: { ...created, patient: { reference: 'Patient/p-dev-2' } },
      })) as Resource,
    );
    assert.deepEqual(moved.patient, { reference: 'Patient/p-dev-2' });
    const history = await h.vigil.devices.assignments(id);
    assert.deepEqual(
      history.map((a) => a.patientId),
      ['p-dev-1', 'p-dev-2'],
    );
    assert.equal(h.vigil.directory.patientAt(id, Date.now() + 1000), 'p-dev-2', 'ingest knows at once');

    const refused = await failure(
      admin.update({ resourceType: 'Device', id, body: { ...moved, serialNumber: 'SN-43' } }),
    );
    assert.equal(refused.status, 400);
    assert.match(JSON.stringify(refused.data), /cannot change/);
  });

  it('registers no Device for a patient it does not know', async () => {
    const refused = await failure(
      admin.create({
        resourceType: 'Device',
        body: {
          resourceType: 'Device',
          serialNumber: 'SN-ORPHAN',
          modelNumber: 'OxiPro',
          patient: { reference: 'Patient/p-nobody' },
        },
      }),
    );
    assert.equal(refused.status, 404);
    assert.equal((refused.data.issue as Array<{ code: string }>)[0]!.code, 'not-found');
    assert.equal((await h.vigil.devices.list()).filter((d) => d.serial === 'SN-ORPHAN').length, 0);
  });

  it('answers a body that is not JSON with 415 and an OperationOutcome', async () => {
    const r = await httpsRequest(`${h.baseUrl}/fhir/R4/Patient`, {
      method: 'POST',
      ca: h.caPem,
      token: h.adminToken,
      body: '<Patient xmlns="http://hl7.org/fhir"/>',
      contentType: 'application/fhir+xml',
    });
    assert.equal(r.status, 415, r.text);
    const outcome = valid(r.json as Resource);
    assert.equal((outcome.issue as Array<{ code: string }>)[0]!.code, 'not-supported');
  });

  it('answers errors with valid OperationOutcomes', async () => {
    const cases: Array<[() => Promise<unknown>, number, string]> = [
      [() => admin.read({ resourceType: 'Patient', id: 'nobody' }), 404, 'not-found'],
      // A clinician is refused as for a patient outside their care team: no probing of ids.
      [() => clinician.read({ resourceType: 'Patient', id: 'nobody' }), 403, 'forbidden'],
      [() => client('').read({ resourceType: 'Patient', id: 'nobody' }), 401, 'login'],
      [
        () => admin.search({ resourceType: 'Observation', searchParams: { patient: 'p-cli' } }),
        403,
        'forbidden',
      ],
      [() => clinician.search({ resourceType: 'Patient', searchParams: { family: 'x' } }), 400, 'invalid'],
      [
        () =>
          admin.create({
            resourceType: 'Patient',
            body: { resourceType: 'Patient', name: [{ text: 'x' }], telecom: [{ value: '555' }] },
          }),
        400,
        'invalid',
      ],
      [
        () =>
          admin.create({
            resourceType: 'Patient',
            body: { resourceType: 'Patient', birthDate: 'yesterday' },
          }),
        400,
        'invalid',
      ],
      [() => clinician.read({ resourceType: 'Encounter', id: 'e1' }), 404, 'not-found'],
    ];
    for (const [request, status, code] of cases) {
      const r = await failure(request());
      assert.equal(r.status, status, JSON.stringify(r.data));
      valid(r.data);
      assert.equal(r.data.resourceType, 'OperationOutcome');
      assert.equal((r.data.issue as Array<{ code: string }>)[0]!.code, code);
    }
  });

  it('audits reads of patient data with the reader', async () => {
    await clinician.read({ resourceType: 'Patient', id: 'p-cli' });
    const last = await h.vigil.store.db
      .selectFrom('audit_log')
      .select(['action', 'actor', 'patient_id'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    assert.deepEqual(last, { action: 'patient.read', actor: 'token:test-clinician', patient_id: 'p-cli' });
  });
});
