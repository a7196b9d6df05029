import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isoInstant } from './iso-instant.ts';

describe('isoInstant', () => {
  it('writes exactly what Date#toISOString writes, for any instant', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 0, max: 253_402_300_799_999 }),
          fc.integer({ min: -8_640_000_000_000_000, max: 8_640_000_000_000_000 }),
        ),
        (ms) => {
          assert.equal(isoInstant(ms), new Date(ms).toISOString());
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('stays right across days, in and out of the cached day', () => {
    const start = Date.parse('2026-12-31T23:59:58.997Z');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 * 86_400_000 }), { maxLength: 50 }), (offsets) => {
        for (const o of offsets) assert.equal(isoInstant(start + o), new Date(start + o).toISOString());
      }),
    );
  });
});
