/**
 * Property tests of the FHIR Device reader and of reference parsing (STYLE.md 13): any body or
 * reference gives what Vigil keeps or a VIGIL_ERR_REQUEST_INVALID, and valid ones are read
 * back field for field.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { VigilError } from '../errors/catalogue.ts';
import { fromFhirDevice, referenceId, toFhirDevice } from './device-resource.ts';

const RUNS = { numRuns: 300 };

function orRefusal<T>(read: () => T): T | VigilError {
  try {
    return read();
  } catch (e) {
    if (!(e instanceof VigilError)) throw e;
    assert.equal(e.code, 'VIGIL_ERR_REQUEST_INVALID');
    assert.ok(e.detail.length > 0);
    return e;
  }
}

const arbFhirId = fc.stringMatching(/^[A-Za-z0-9.-]{1,64}$/);
/** A FHIR string: no padding-only values (the R4 schema's pattern wants a visible character). */
const arbText = fc
  .string({ minLength: 1, maxLength: 40 })
  .map((s) => s.trim())
  .filter((s) => s.length > 0);

describe('fromFhirDevice, properties', () => {
  it('answers a device or a VIGIL_ERR_REQUEST_INVALID for any JSON body', () => {
    const arbBody = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          resourceType: fc.constantFrom('Device', 'Patient'),
          id: fc.oneof(arbFhirId, fc.jsonValue()),
          modelNumber: fc.oneof(arbText, fc.jsonValue()),
          serialNumber: fc.oneof(arbText, fc.jsonValue()),
          status: fc.constantFrom('active', 'inactive', 'bogus'),
          patient: fc.oneof(
            fc.record(
              {
                reference: fc.oneof(
                  fc.string(),
                  arbFhirId.map((id) => `Patient/${id}`),
                ),
              },
              { requiredKeys: [] },
            ),
            fc.jsonValue(),
          ),
          version: fc.jsonValue(),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(arbBody, (body) => {
        const out = orRefusal(() => fromFhirDevice(body));
        if (out instanceof VigilError) return;
        assert.equal(typeof out.model, 'string');
        assert.equal(typeof out.serial, 'string');
      }),
      RUNS,
    );
  });

  it('reads back model, serial, id and wearer of a valid Device', () => {
    fc.assert(
      fc.property(
        arbText,
        arbText,
        fc.option(arbFhirId, { nil: undefined }),
        fc.option(arbFhirId, { nil: undefined }),
        fc.constantFrom('active', 'inactive'),
        (model, serial, id, patientId, status) => {
          const body = {
            resourceType: 'Device',
            ...(id === undefined ? {} : { id }),
            status,
            modelNumber: model,
            serialNumber: serial,
            ...(patientId === undefined ? {} : { patient: { reference: `Patient/${patientId}` } }),
          };
          assert.deepEqual(
            orRefusal(() => fromFhirDevice(body)),
            {
              model,
              serial,
              ...(id === undefined ? {} : { id }),
              ...(patientId === undefined ? {} : { patientId }),
            },
          );
        },
      ),
      RUNS,
    );
  });

  it('gives back what toFhirDevice wrote', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$/),
        arbText,
        arbText,
        fc.option(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$/), { nil: null }),
        fc.constantFrom('active', 'quarantined'),
        fc.option(arbText, { nil: null }),
        (id, model, serial, patientId, status, firmware) => {
          const row = { id, model, serial, patientId, status, firmware } as unknown as Parameters<
            typeof toFhirDevice
          >[0];
          const written = JSON.parse(JSON.stringify(toFhirDevice(row)));
          assert.deepEqual(
            orRefusal(() => fromFhirDevice(written)),
            {
              id,
              model,
              serial,
              ...(patientId === null ? {} : { patientId }),
            },
          );
        },
      ),
      RUNS,
    );
  });
});

describe('referenceId, properties', () => {
  const arbType = fc.constantFrom('Patient', 'Device');

  it('answers an id or a VIGIL_ERR_REQUEST_INVALID for any string', () => {
    fc.assert(
      fc.property(
        fc.option(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.webUrl()), { nil: undefined }),
        arbType,
        (reference, type) => {
          const out = orRefusal(() => referenceId(reference, type));
          if (out instanceof VigilError) return;
          assert.match(out, /^[A-Za-z0-9.-]{1,64}$/);
          assert.ok(reference?.endsWith(`${type}/${out}`));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('reads the id of Type/id and of an absolute URL ending in /Type/id', () => {
    fc.assert(
      fc.property(arbType, arbFhirId, fc.option(fc.webUrl(), { nil: undefined }), (type, id, base) => {
        const reference = base === undefined ? `${type}/${id}` : `${base.replace(/\/+$/, '')}/${type}/${id}`;
        assert.equal(
          orRefusal(() => referenceId(reference, type)),
          id,
        );
      }),
      RUNS,
    );
  });

  it('refuses a reference to another type, a history version, or an id over 64 characters', () => {
    fc.assert(
      fc.property(
        arbFhirId,
        fc.constantFrom(
          (id: string) => `Device/${id}`,
          (id: string) => `Patient/${id}/_history/1`,
          (id: string) => `Patient/${id}${'x'.repeat(65 - Math.min(id.length, 64))}`,
          (id: string) => `Patient/${id} `,
          (id: string) => `#${id}`,
          (id: string) => id,
        ),
        (id, build) => {
          const reference = build(id);
          assert.ok(orRefusal(() => referenceId(reference, 'Patient')) instanceof VigilError, reference);
        },
      ),
      RUNS,
    );
  });

  it('takes a relative reference only as exactly Type/id (never Other/Type/id)', () => {
    fc.assert(
      fc.property(fc.constantFrom('Device', 'Observation', 'Group', 'x'), arbFhirId, (other, id) => {
        const reference = `${other}/Patient/${id}`;
        assert.ok(
          orRefusal(() => referenceId(reference, 'Patient')) instanceof VigilError,
          `${reference} was read as Patient/${id}`,
        );
      }),
      { numRuns: 50 },
    );
  });
});
