import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { deviceHash, observationId, parseObservationId, patientHash } from './observation-id.ts';

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const vigilId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
const key = fc.record({
  tsMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  code: fc
    .tuple(fc.integer({ min: 1, max: 9_999_999 }), fc.integer({ min: 0, max: 9 }))
    .map(([a, b]) => `${a}-${b}`),
  deviceId: vigilId,
  n: fc.integer({ min: 0, max: 999_999 }),
});

describe('Observation ids', () => {
  it('are valid FHIR ids that parse back to the reading they name', () => {
    fc.assert(
      fc.property(vigilId, key, (patientId, k) => {
        const id = observationId(patientId, k);
        assert.match(id, FHIR_ID);
        assert.deepEqual(parseObservationId(id), {
          patientHash: patientHash(patientId),
          deviceHash: deviceHash(k.deviceId),
          code: k.code,
          tsMs: k.tsMs,
          n: k.n,
        });
      }),
    );
  });

  it('do not carry the patient id itself', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{12,64}$/), key, (p, k) =>
        assert.ok(!observationId(p, k).includes(p)),
      ),
    );
  });

  it('parse nothing else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 70 }), (s) => {
        const ref = parseObservationId(s);
        if (ref)
          assert.equal(
            observationId('x', { tsMs: ref.tsMs, code: ref.code, deviceId: 'd', n: ref.n }).split('.').length,
            5,
          );
      }),
    );
  });
});
