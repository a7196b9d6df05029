import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { refusedOrParsed } from '../../test/support/refusal.ts';
import { VigilError } from '../errors/catalogue.ts';
import { observationToReading } from './observation-create.ts';
import { LOINC, UCUM, VITAL_SIGNS_PROFILE } from './observation-resource.ts';

const posted = (fields: Record<string, unknown> = {}) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: LOINC, code: '2339-0' }] },
  effectiveDateTime: '2026-11-22T10:00:00Z',
  valueQuantity: { value: 50, unit: 'mg/dL', system: UCUM, code: 'mg/dL' },
  device: { reference: 'Device/gw-1' },
  ...fields,
});

function refusal(body: unknown): string {
  try {
    observationToReading(body);
  } catch (e) {
    assert.ok(e instanceof VigilError && e.code === 'VIGIL_ERR_REQUEST_INVALID', String(e));
    return e.detail;
  }
  assert.fail(`accepted ${JSON.stringify(body).slice(0, 200)}`);
}

describe('a posted Observation as a reading', () => {
  it('reads a final reading with a plain quantity', () => {
    assert.deepEqual(observationToReading(posted()), {
      deviceId: 'gw-1',
      subjectId: undefined,
      reading: { code: '2339-0', value: 50, unit: 'mg/dL', ts: '2026-11-22T10:00:00Z' },
    });
  });

  it('refuses a comparator, which would store "<40" as exactly 40', () => {
    for (const comparator of ['<', '<=', '>=', '>']) {
      const detail = refusal(
        posted({ valueQuantity: { value: 40, comparator, unit: 'mg/dL', system: UCUM, code: 'mg/dL' } }),
      );
      assert.match(detail, /valueQuantity\.comparator/);
    }
  });

  it('refuses every status but final, which is how a stored reading is answered', () => {
    for (const status of [
      'preliminary',
      'amended',
      'corrected',
      'registered',
      'entered-in-error',
      'unknown',
    ]) {
      const detail = refusal(posted({ status }));
      assert.match(detail, new RegExp(`status ${status} is not stored`));
    }
  });

  it('refuses meta security labels and tags, which it would not keep', () => {
    const label = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' };
    assert.match(refusal(posted({ meta: { security: [label] } })), /meta\.security/);
    assert.match(refusal(posted({ meta: { tag: [{ system: 'urn:x', code: 't' }] } })), /meta\.tag/);
    assert.match(refusal(posted({ meta: { source: 'urn:gateway' } })), /meta\.source/);
  });

  it('accepts a profile claim and the server-assigned meta elements', () => {
    const meta = { profile: [VITAL_SIGNS_PROFILE], versionId: '3', lastUpdated: '2026-11-22T10:00:00Z' };
    assert.equal(observationToReading(posted({ meta })).reading.value, 50);
  });

  it('takes no valueQuantity element beyond value, unit, system and code', () => {
    // The R4 schema refuses names Quantity does not have; these it allows, and none is stored.
    const extra = fc.oneof(
      fc.record({ comparator: fc.constantFrom('<', '<=', '>=', '>') }),
      fc.record({ id: fc.stringMatching(/^[A-Za-z0-9.-]{1,20}$/) }),
      fc.record({ extension: fc.constant([{ url: 'urn:x', valueString: 'qualifier' }]) }),
      fc.record({ _value: fc.constant({ extension: [{ url: 'urn:x', valueCode: 'estimated' }] }) }),
    );
    fc.assert(
      fc.property(extra, fc.boolean(), (more, withUnit) => {
        const q = { value: 50, system: UCUM, code: 'mg/dL', ...(withUnit ? { unit: 'mg/dL' } : {}), ...more };
        const answer = refusedOrParsed(() => observationToReading(posted({ valueQuantity: q })));
        assert.ok(
          answer instanceof VigilError,
          `valueQuantity ${JSON.stringify(more)} was accepted and dropped`,
        );
      }),
    );
  });

  it('answers any value in any element, at any depth of a posted body, with a reading or a refusal', () => {
    // A JSON null passes the R4 schema where an object is expected: it used to throw a TypeError (a 500).
    const elements = ['code', 'device', 'subject', 'valueQuantity', 'meta', 'effectiveDateTime', 'status'];
    const replaced = fc.oneof(
      fc
        .record({ element: fc.constantFrom(...elements), value: fc.jsonValue() })
        .map(({ element, value }) => posted({ [element]: value })),
      fc.jsonValue().map((value) => posted({ code: { coding: [value] } })),
      fc.jsonValue().map((value) => posted({ subject: { reference: value } })),
    );
    fc.assert(
      fc.property(replaced, (body) => {
        const answer = refusedOrParsed(() => observationToReading(body));
        assert.ok(
          !(answer instanceof Error) ||
            (answer instanceof VigilError && answer.code === 'VIGIL_ERR_REQUEST_INVALID'),
          `${JSON.stringify(body).slice(0, 200)}: ${String(answer)}`,
        );
      }),
      { numRuns: 300 },
    );
  });
});
