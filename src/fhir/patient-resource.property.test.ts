/**
 * Property tests of the FHIR Patient reader (STYLE.md 13): any body gives the identity Vigil
 * keeps or a VIGIL_ERR_REQUEST_INVALID, and a valid R4 Patient in the shape Vigil keeps is
 * read back field for field, and survives toFhirPatient and back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { VigilError } from '../errors/catalogue.ts';
import { fromFhirPatient, toFhirPatient } from './patient-resource.ts';

const RUNS = { numRuns: 300 };

function readOrRefusal(body: unknown): ReturnType<typeof fromFhirPatient> | VigilError {
  try {
    return fromFhirPatient(body);
  } catch (e) {
    if (!(e instanceof VigilError)) throw e;
    assert.equal(e.code, 'VIGIL_ERR_REQUEST_INVALID');
    assert.ok(e.detail.length > 0);
    return e;
  }
}

/** FHIR R4 id: 1-64 of letters, digits, '-' and '.'. */
const arbFhirId = fc.stringMatching(/^[A-Za-z0-9.-]{1,64}$/);
/** A name as people have them: no padding, at least one visible character. */
const arbName = fc
  .string({ minLength: 1, maxLength: 60 })
  .map((s) => s.trim())
  .filter((s) => /^\S(.*\S)?$/s.test(s));
const arbWord = fc.stringMatching(/^[A-Za-zÀ-ÿ'-]{1,20}$/);
const arbDay = fc
  .date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2025-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));

describe('fromFhirPatient, properties', () => {
  it('answers an identity or a VIGIL_ERR_REQUEST_INVALID for any JSON body', () => {
    const arbBody = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          resourceType: fc.constantFrom('Patient', 'Device', 'patient', ''),
          id: fc.oneof(arbFhirId, fc.jsonValue()),
          name: fc.oneof(
            fc.array(
              fc.record(
                { text: fc.string(), family: fc.string(), given: fc.array(fc.string()) },
                { requiredKeys: [] },
              ),
            ),
            fc.jsonValue(),
          ),
          birthDate: fc.oneof(arbDay, fc.string(), fc.jsonValue()),
          gender: fc.constantFrom('female', 'male'),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(arbBody, (body) => {
        const out = readOrRefusal(body);
        if (out instanceof VigilError) return;
        assert.ok(out.name.length > 0);
      }),
      RUNS,
    );
  });

  it('reads back the name text, birth date and id of a valid Patient', () => {
    fc.assert(
      fc.property(
        arbName,
        fc.option(arbDay, { nil: undefined }),
        fc.option(arbFhirId, { nil: undefined }),
        (name, birthDate, id) => {
          const body = {
            resourceType: 'Patient',
            ...(id === undefined ? {} : { id }),
            name: [{ text: name }],
            ...(birthDate === undefined ? {} : { birthDate }),
          };
          assert.deepEqual(readOrRefusal(body), {
            name,
            ...(birthDate === undefined ? {} : { birthDate }),
            ...(id === undefined ? {} : { id }),
          });
        },
      ),
      RUNS,
    );
  });

  it('reads given names and family, in that order, when there is no text', () => {
    fc.assert(
      fc.property(fc.array(arbWord, { minLength: 1, maxLength: 3 }), arbWord, (given, family) => {
        const out = readOrRefusal({ resourceType: 'Patient', name: [{ given, family }] });
        assert.deepEqual(out, { name: [...given, family].join(' ') });
      }),
      RUNS,
    );
  });

  it('gives back what toFhirPatient wrote', () => {
    fc.assert(
      fc.property(
        arbName,
        fc.option(arbDay, { nil: undefined }),
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$/),
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        (name, birthDate, id, createdAt) => {
          const written = toFhirPatient({
            id,
            name,
            createdAt,
            ...(birthDate === undefined ? {} : { birthDate }),
          });
          assert.deepEqual(readOrRefusal(JSON.parse(JSON.stringify(written))), {
            id,
            name,
            ...(birthDate === undefined ? {} : { birthDate }),
          });
        },
      ),
      RUNS,
    );
  });

  it('refuses any element Vigil would drop, naming it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('gender', 'telecom', 'address', 'identifier', 'active', 'deceasedBoolean'),
        (element) => {
          const value = {
            gender: 'female',
            telecom: [{ system: 'phone', value: '1' }],
            address: [{ city: 'Oslo' }],
            identifier: [{ value: 'x' }],
            active: true,
            deceasedBoolean: false,
          }[element];
          const out = readOrRefusal({ resourceType: 'Patient', name: [{ text: 'Ada' }], [element]: value });
          assert.ok(out instanceof VigilError && out.detail.includes(element), String(out));
        },
      ),
      { numRuns: 20 },
    );
  });
});
