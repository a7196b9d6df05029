import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { tempStore } from '../../test/support/temp-store.ts';
import { type AcceptedMessage, type ChunkPolicy, SqliteObservationStore } from './observations.store.ts';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const POLICY: ChunkPolicy = { maxReadings: 8, maxSpanMs: 60_000 };
const KEY = randomBytes(32);

type Step =
  | {
      kind: 'commit';
      messages: Array<{ device: number; patient: number; readings: number; stepMs: number }>;
      alsoSeal: number;
    }
  | { kind: 'sealDue'; max: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('commit' as const),
    messages: fc.array(
      fc.record({
        device: fc.integer({ min: 0, max: 2 }),
        patient: fc.integer({ min: 0, max: 1 }),
        readings: fc.integer({ min: 1, max: 6 }),
        stepMs: fc.integer({ min: 1, max: 20_000 }),
      }),
      { minLength: 1, maxLength: 6 },
    ),
    alsoSeal: fc.integer({ min: 0, max: 3 }),
  }),
  fc.record({ kind: fc.constant('sealDue' as const), max: fc.integer({ min: 1, max: 4 }) }),
);

/**
 * The ingest writer leaves full runs open after the commit that filled them and seals them
 * later (deferSealing). Whatever the interleaving of commits and sealing slices, a reader must
 * see exactly what the in-commit sealing of the plain store shows, at every step and at the end.
 */
describe('deferred chunk sealing (property)', () => {
  let inlineCtx: Awaited<ReturnType<typeof tempStore>>;
  let deferredCtx: Awaited<ReturnType<typeof tempStore>>;
  let run = 0;

  before(async () => {
    inlineCtx = await tempStore();
    deferredCtx = await tempStore();
  });
  after(async () => {
    await inlineCtx.cleanup();
    await deferredCtx.cleanup();
  });

  it('holds the same readings as sealing inside the commit, and leaves no staging row at the end', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 25 }), (steps) => {
        run += 1;
        const prefix = `r${run}`;
        const inline = new SqliteObservationStore(
          inlineCtx.store.sqlite!,
          () => 0,
          () => KEY,
          POLICY,
        );
        const deferred = new SqliteObservationStore(
          deferredCtx.store.sqlite!,
          () => 0,
          () => KEY,
          {
            ...POLICY,
            deferSealing: true,
          },
        );
        const seqs = [0, 0, 0];
        const clocks = [T0, T0, T0];
        const patients = [`${prefix}-p0`, `${prefix}-p1`];
        const same = () => {
          for (const p of patients) {
            const q = { fromMs: T0 - 1, toMs: T0 + 10_000_000 };
            const a = inline.query(p, q).map((r) => `${r.deviceId}|${r.code}|${r.tsMs}|${r.value}`);
            const b = deferred.query(p, q).map((r) => `${r.deviceId}|${r.code}|${r.tsMs}|${r.value}`);
            assert.deepEqual(b.sort(), a.sort());
          }
        };
        for (const step of steps) {
          if (step.kind === 'sealDue') {
            deferred.sealDue(step.max);
          } else {
            const batch: AcceptedMessage[] = step.messages.map((m) => {
              const seq = ++seqs[m.device]!;
              clocks[m.device]! += m.stepMs;
              const readings = Array.from({ length: m.readings }, (_, i) => ({
                code: i % 2 ? '59408-5' : '8867-4',
                value: 60 + ((seq + i) % 40),
                tsMs: clocks[m.device]! + i,
              }));
              const deviceId = `${prefix}-d${m.device}`;
              return {
                deviceId,
                seq,
                hash: `h${seq}`,
                receivedMs: T0,
                parts: [{ patientId: patients[m.patient]!, readings }],
              };
            });
            inline.commitBatch(batch);
            deferred.commitBatch(batch, step.alsoSeal);
          }
          same();
        }
        while (deferred.sealDue(3) > 0);
        inline.sealOpenChunks();
        deferred.sealOpenChunks();
        same();
        const staged = deferredCtx.store
          .sqlite!.prepare('SELECT count(*) n FROM reading_staging WHERE device_id LIKE ?')
          .get(`${prefix}-%`) as { n: number };
        assert.equal(staged.n, 0);
      }),
      { numRuns: 40 },
    );
  });
});
