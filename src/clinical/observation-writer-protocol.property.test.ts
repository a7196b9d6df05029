import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { packBatch, unpackBatch } from './observation-writer-protocol.ts';
import type { AcceptedMessage } from './observations.store.ts';

const readingArb = fc
  .record({
    code: fc.constantFrom('8867-4', '59408-5', '8310-5', '2339-0', 'x'.repeat(40)),
    value: fc.double({ noNaN: true, noDefaultInfinity: true }),
    tsMs: fc.integer({ min: 0, max: 2 ** 48 }),
  })
  .map((r) => ({ ...r }));

const messageArb: fc.Arbitrary<AcceptedMessage> = fc
  .record({
    deviceId: fc.string({ minLength: 1, maxLength: 20 }),
    seq: fc.maxSafeNat(),
    hash: fc.string({ maxLength: 44 }),
    receivedMs: fc.integer({ min: 0, max: 2 ** 48 }),
    parts: fc.array(
      fc
        .record({
          patientId: fc.string({ minLength: 1, maxLength: 20 }),
          readings: fc.array(readingArb, { maxLength: 12 }),
        })
        .map((p) => ({ ...p })),
      { maxLength: 3 },
    ),
  })
  .map((m) => ({ ...m }));

describe('writer batch packing (property)', () => {
  it('unpacks to exactly the messages it packed, in order', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { maxLength: 30 }), (messages) => {
        assert.deepEqual(unpackBatch(packBatch(messages)), messages);
      }),
      { numRuns: 300 },
    );
  });

  it('survives the structured clone that carries it to the thread', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { maxLength: 10 }), (messages) => {
        assert.deepEqual(unpackBatch(structuredClone(packBatch(messages))), messages);
      }),
      { numRuns: 100 },
    );
  });
});
