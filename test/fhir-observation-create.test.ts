import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'fhir-kit-client';
import { Agent } from 'undici';
import { fhirSchemaErrors } from '../src/fhir/fhir-schema.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';

interface Observation {
  id: string;
  valueQuantity: { value: number; code: string };
  subject: { reference: string };
}
interface Refusal {
  status: number;
  data: { issue: Array<{ code: string; details: { coding: Array<{ code: string }> } }> };
}

function valid<T>(resource: T): T {
  assert.deepEqual(fhirSchemaErrors(resource), [], JSON.stringify(resource).slice(0, 400));
  return resource;
}

async function refusal(p: Promise<unknown>): Promise<Refusal> {
  try {
    await p;
  } catch (e) {
    const r = (e as { response?: Refusal }).response;
    if (r) return r;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('FHIR Observation create, for devices that post Observations', () => {
  let h: Harness;
  let deviceAgent: Agent;
  let readerAgent: Agent;
  let device: Client;
  let reader: Client;
  const effective = new Date(Date.now() - 10 * 60_000).toISOString();
  const reading = (fields: Record<string, unknown> = {}) => ({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: LOINC, code: '2339-0' }] },
    effectiveDateTime: effective,
    valueQuantity: { value: 6.2, unit: 'mmol/L', system: UCUM, code: 'mmol/L' },
    device: { reference: 'Device/gw-1' },
    ...fields,
  });

  before(async () => {
    h = await startHarness();
    // A device that speaks FHIR: its client certificate is its identity, as over MQTT.
    const creds = await h.enrol('gw-1', 'gw-pat');
    await h.enrol('gw-2', 'gw-pat');
    deviceAgent = new Agent({ connect: { ca: h.caPem, key: creds.keyPem, cert: creds.certPem } });
    readerAgent = new Agent({ connect: { ca: h.caPem } });
    const baseUrl = `${h.baseUrl}/fhir/R4`;
    device = new Client({ baseUrl, requestOptions: { dispatcher: deviceAgent } });
    reader = new Client({
      baseUrl,
      bearerToken: h.clinicianToken,
      requestOptions: { dispatcher: readerAgent },
    });
  });
  after(async () => {
    await deviceAgent.close();
    await readerAgent.close();
    await h.stop();
  });

  it('stores a posted reading through the ingest checks and answers it as stored', async () => {
    const created = valid(
      (await device.create({ resourceType: 'Observation', body: reading() })) as unknown as Observation,
    );
    // 6.2 mmol/L is stored in mg/dL, the code's canonical unit, as MQTT telemetry is.
    assert.equal(created.valueQuantity.code, 'mg/dL');
    assert.equal(created.valueQuantity.value, Math.round(6.2 * 18.0156));
    assert.deepEqual(created.subject, { reference: 'Patient/gw-pat' });
    assert.deepEqual(valid(await reader.read({ resourceType: 'Observation', id: created.id })), created);
    const rest = await h.api(
      `/api/v1/patients/gw-pat/observations?code=2339-0&from=${effective}&to=${effective}`,
    );
    assert.deepEqual(
      (rest.json as { observations: Array<{ device: string }> }).observations.map((o) => o.device),
      ['gw-1'],
    );
  });

  it('refuses what the device protocol refuses, with OperationOutcomes', async () => {
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [
        { valueQuantity: { value: 900, unit: 'mmol/L', system: UCUM, code: 'mmol/L' } },
        422,
        'VIGIL_ERR_INGEST_IMPLAUSIBLE',
      ],
      [
        { valueQuantity: { value: 6, unit: 'kg', system: UCUM, code: 'kg' } },
        422,
        'VIGIL_ERR_INGEST_BAD_UNIT',
      ],
      [{ effectiveDateTime: new Date(Date.now() + 3_600_000).toISOString() }, 422, 'VIGIL_ERR_INGEST_FUTURE'],
      [{ device: { reference: 'Device/gw-2' } }, 403, 'VIGIL_ERR_MQTT_TOPIC_DENIED'],
      [{ subject: { reference: 'Patient/someone-else' } }, 400, 'VIGIL_ERR_REQUEST_INVALID'],
      [{ note: [{ text: 'would be dropped' }] }, 400, 'VIGIL_ERR_REQUEST_INVALID'],
      // Each would be lost, and the reading answered as an exact, final, unlabelled value.
      [
        { valueQuantity: { value: 2, comparator: '<', unit: 'mmol/L', system: UCUM, code: 'mmol/L' } },
        400,
        'VIGIL_ERR_REQUEST_INVALID',
      ],
      [{ status: 'preliminary' }, 400, 'VIGIL_ERR_REQUEST_INVALID'],
      [
        {
          meta: {
            security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
          },
        },
        400,
        'VIGIL_ERR_REQUEST_INVALID',
      ],
    ];
    for (const [fields, status, code] of cases) {
      const r = await refusal(device.create({ resourceType: 'Observation', body: reading(fields) }));
      assert.equal(r.status, status, JSON.stringify(r.data));
      valid(r.data);
      assert.equal(r.data.issue[0]!.details.coding[0]!.code, code);
    }
  });

  it('refuses a create without the device certificate, even with a clinician token', async () => {
    const r = await refusal(reader.create({ resourceType: 'Observation', body: reading() }));
    assert.equal(r.status, 401);
    valid(r.data);
  });
});
