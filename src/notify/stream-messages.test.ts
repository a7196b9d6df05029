import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Reading } from '../clinical/readings-codec.ts';
import { ReadingsFrames, securityFrame } from './stream-messages.ts';

const UNITS: Record<string, string> = {
  '8867-4': '/min',
  '59408-5': '%',
  '2339-0': 'mg/dL',
  '8310-5': 'Cel',
};
const reading = fc.record({
  code: fc.constantFrom(...Object.keys(UNITS)),
  value: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
  tsMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
});

describe('live stream frames', () => {
  it('writes readings frames that parse to what JSON.stringify would have written', () => {
    fc.assert(
      fc.property(
        fc.array(reading, { maxLength: 30 }),
        fc.string({ maxLength: 20 }),
        fc.string({ maxLength: 20 }),
        (readings: Reading[], patientId, deviceId) => {
          const flagged = new Set(readings.filter((_, i) => i % 3 === 0));
          const frames = new ReadingsFrames(
            (code) => UNITS[code] ?? '',
            (r) => flagged.has(r),
          );
          const text = frames.build(patientId, deviceId, readings);
          assert.deepEqual(JSON.parse(text), {
            type: 'readings',
            patientId,
            deviceId,
            readings: readings.map((r) => ({
              code: r.code,
              value: Object.is(r.value, -0) ? 0 : r.value,
              unit: UNITS[r.code],
              ts: new Date(r.tsMs).toISOString(),
              questionable: flagged.has(r),
            })),
          });
        },
      ),
    );
  });

  it('writes a security event with its time as ISO 8601, like the events list', () => {
    const text = securityFrame({
      id: 7,
      ts: 0,
      code: 'VIGIL_ERR_INGEST_BAD_JSON',
      detail: 'bad',
      severity: 'medium',
    });
    assert.deepEqual(JSON.parse(text), {
      type: 'security',
      event: {
        id: 7,
        ts: '1970-01-01T00:00:00.000Z',
        code: 'VIGIL_ERR_INGEST_BAD_JSON',
        detail: 'bad',
        severity: 'medium',
      },
    });
  });
});
