import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ageYears,
  createDeidentifier,
  deidentifyDevice,
  deidentifyObservation,
  deidentifyPatient,
  RESTRICTED_ZIP3,
  zip3,
} from './deidentify.ts';
import { fhirSchemaErrors } from './fhir-schema.ts';

const KEY = Buffer.alloc(32, 7);
const NOW = Date.parse('2026-11-27T10:00:00Z');
const DAY = 86_400_000;

/** A Patient carrying every kind of identifier FHIR has room for. */
const richPatient = (id: string) => ({
  resourceType: 'Patient',
  id,
  identifier: [{ system: 'urn:oid:1.2.36.146.595.217.0.1', value: `MRN-${id}` }],
  name: [{ family: 'Quartermain', given: ['Adelheid'] }],
  telecom: [
    { system: 'phone', value: '+1-555-0100' },
    { system: 'email', value: 'adelheid@example.org' },
  ],
  gender: 'female',
  birthDate: '1961-07-19',
  address: [
    { line: ['12 Elm Street'], city: 'Springfield', state: 'VT', postalCode: '05901-1234', country: 'US' },
  ],
  photo: [{ url: 'https://example.org/photo.jpg' }],
  contact: [{ name: { text: 'Bertram Quartermain' } }],
});

describe('Safe Harbor de-identification', () => {
  it('keeps the first three ZIP digits, and 000 for the restricted prefixes', () => {
    assert.equal(zip3('05901-1234'), '000');
    assert.equal(zip3('10001'), '100');
    assert.equal(zip3('SW1A 1AA'), undefined);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999 }), (n) => {
        const zip = String(n).padStart(5, '0');
        const out = zip3(zip)!;
        assert.equal(out, RESTRICTED_ZIP3.has(zip.slice(0, 3)) ? '000' : zip.slice(0, 3));
      }),
    );
    fc.assert(fc.property(fc.string(), (s) => void zip3(s)));
  });

  it('counts whole years of age', () => {
    assert.equal(ageYears('1936-11-27', NOW), 90);
    assert.equal(ageYears('1936-11-28', NOW), 89);
    assert.equal(ageYears('1936', NOW), 90);
  });

  it('leaves no identifier of a Patient, only year, state, ZIP3 and gender, as valid R4', () => {
    const d = createDeidentifier(KEY, 'p-42', NOW);
    const out = deidentifyPatient(richPatient('p-42'), d);
    assert.deepEqual(fhirSchemaErrors(out), []);
    const text = JSON.stringify(out);
    for (const secret of [
      'p-42',
      'MRN',
      'Quartermain',
      'Adelheid',
      '555',
      'example.org',
      'Elm',
      'Springfield',
      '07-19',
      '05901',
    ])
      assert.ok(!text.includes(secret), `${secret} left in ${text}`);
    assert.equal(out.birthDate, '1961');
    assert.deepEqual(out.address, [{ state: 'VT', postalCode: '000', country: 'US' }]);
    assert.equal(out.gender, 'female');
  });

  it('replaces the birth year of anyone 90 or older by the category 90+', () => {
    const d = createDeidentifier(KEY, 'p-old', NOW);
    const out = deidentifyPatient({ resourceType: 'Patient', id: 'p-old', birthDate: '1930-05-01' }, d);
    assert.equal(out.birthDate, undefined);
    assert.match(JSON.stringify(out), /"90\+"/);
    assert.doesNotMatch(JSON.stringify(out), /1930/);
  });

  it('gives each patient one stable offset of 1 to 365 days, and different patients different ones', () => {
    const offsets = new Set<number>();
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9-]{1,20}$/), (id) => {
        const a = createDeidentifier(KEY, id, NOW);
        const b = createDeidentifier(KEY, id, NOW + DAY);
        assert.equal(a.shiftDays, b.shiftDays, 'stable for the patient');
        assert.ok(a.shiftDays !== 0 && Math.abs(a.shiftDays) <= 365);
        offsets.add(a.shiftDays);
      }),
    );
    assert.ok(offsets.size > 50, `only ${offsets.size} distinct offsets over 100 patients`);
    const other = createDeidentifier(Buffer.alloc(32, 8), 'p-42', NOW);
    assert.notEqual(
      other.pseudonym('patient', 'p-42'),
      createDeidentifier(KEY, 'p-42', NOW).pseudonym('patient', 'p-42'),
    );
  });

  it('keeps intervals between readings exact', () => {
    const d = createDeidentifier(KEY, 'p-42', NOW);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: NOW }), fc.integer({ min: 0, max: NOW }), (a, b) => {
        assert.equal(d.shiftMs(a) - d.shiftMs(b), a - b);
      }),
    );
  });

  it('pseudonymises Device and Observation and their references consistently', () => {
    const d = createDeidentifier(KEY, 'p-42', NOW);
    const device = deidentifyDevice(
      {
        resourceType: 'Device',
        id: 'ox-1',
        status: 'active',
        serialNumber: 'SN-99',
        modelNumber: 'OxiPro',
        patient: { reference: 'Patient/p-42' },
      },
      d,
    );
    const obs = deidentifyObservation(
      {
        resourceType: 'Observation',
        id: 'abc.def.8867-4.x.0',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        subject: { reference: 'Patient/p-42' },
        effectiveDateTime: '2026-11-20T08:00:00.000Z',
        valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
        device: { reference: 'Device/ox-1' },
      },
      d,
    );
    for (const r of [device, obs]) assert.deepEqual(fhirSchemaErrors(r), []);
    assert.equal((obs.device as { reference: string }).reference, `Device/${device.id}`);
    assert.equal(
      (obs.subject as { reference: string }).reference,
      (device.patient as { reference: string }).reference,
    );
    assert.doesNotMatch(JSON.stringify([device, obs]), /ox-1|SN-99|p-42|2026-11-20T08/);
    assert.equal(device.modelNumber, 'OxiPro');
  });
});
