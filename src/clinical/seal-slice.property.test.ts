import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SEAL_SLICE, sealSliceFor } from './observation-writer-protocol.ts';

describe('seals per commit (sealSliceFor)', () => {
  it('never seals more than a slice or an eighth of the backlog', () => {
    fc.assert(
      fc.property(fc.nat(100_000), fc.nat(1_000_000), fc.integer({ min: 1, max: 10_000 }), (due, r, max) => {
        const n = sealSliceFor(due, r, max);
        assert.ok(n >= SEAL_SLICE);
        assert.ok(n <= Math.max(SEAL_SLICE, Math.ceil(due / 8)));
      }),
    );
  });

  it('seals at least twice what the batch can fill, or an eighth of the backlog, so a backlog drains', () => {
    fc.assert(
      fc.property(fc.nat(100_000), fc.nat(1_000_000), fc.integer({ min: 1, max: 10_000 }), (due, r, max) => {
        const n = sealSliceFor(due, r, max);
        // r / max: the runs the batch's readings can fill, at most.
        assert.ok(n >= Math.min(Math.ceil(due / 8), (2 * r) / max));
      }),
    );
  });

  it('caps a wave of runs due together at the batch', () => {
    // 200 devices' runs due at once, a half-peak batch of 30 messages of 10 readings.
    assert.equal(sealSliceFor(200, 300, 256), SEAL_SLICE);
    // At peak (1,250 messages a commit) the backlog rule holds as before.
    assert.equal(sealSliceFor(200, 12_500, 256), 25);
  });
});
