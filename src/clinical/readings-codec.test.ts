import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeReadings, encodeReadings, type Reading } from './readings-codec.ts';

const decimalsOf = (code: string) => (code === '8310-5' ? 1 : 0);

const reading = fc.record({
  code: fc.constantFrom('8867-4', '59408-5', '8310-5', '2339-0'),
  value: fc.integer({ min: -5000, max: 100_000 }).map((v) => v / 10),
  tsMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
});

describe('readings codec', () => {
  it("round-trips readings at each code's precision", () => {
    fc.assert(
      fc.property(fc.array(reading, { maxLength: 300 }), (readings: Reading[]) => {
        const back = decodeReadings(encodeReadings(readings, decimalsOf));
        assert.equal(back.length, readings.length);
        back.forEach((r, i) => {
          const original = readings[i]!;
          const scale = 10 ** decimalsOf(original.code);
          assert.equal(r.code, original.code);
          assert.equal(r.tsMs, original.tsMs);
          assert.equal(r.value, (Math.round(original.value * scale) + 0) / scale);
        });
      }),
    );
  });

  it('keeps a 1 Hz series compact', () => {
    const start = Date.parse('2026-11-22T10:00:00Z');
    const series = Array.from({ length: 300 }, (_, i) => ({
      code: '8867-4',
      value: 70 + (i % 5),
      tsMs: start + i * 1000,
    }));
    assert.ok(encodeReadings(series, decimalsOf).length < 300 * 5);
  });

  it('refuses a truncated blob instead of inventing readings', () => {
    const blob = encodeReadings([{ code: '8867-4', value: 72, tsMs: 1 }], decimalsOf);
    assert.throws(() => decodeReadings(blob.subarray(0, blob.length - 2)), RangeError);
  });
});
