/**
 * Property test of the whole ingest pipeline on a real store: whatever mix of good messages,
 * replays, hostile JSON and random bytes a device sends, every call ends in "stored" or a
 * VigilError, and afterwards the store holds exactly the readings of the accepted messages,
 * no more and no fewer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { VigilError } from '../src/errors/catalogue.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

type Step =
  | { kind: 'valid'; values: number[]; ageS: number }
  | { kind: 'replay'; values: number[] }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'json'; value: unknown }
  | { kind: 'implausible'; value: number }
  | { kind: 'future'; minutes: number };

const heartRates = fc.array(fc.integer({ min: 40, max: 180 }), { minLength: 1, maxLength: 5 });
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('valid'),
      values: heartRates,
      ageS: fc.integer({ min: 1, max: 3000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replay'), values: heartRates }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('bytes'), bytes: fc.uint8Array({ maxLength: 300 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('json'), value: fc.jsonValue({ maxDepth: 3 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('implausible'),
      value: fc.oneof(fc.integer({ min: 301, max: 1e6 }), fc.integer({ min: -1e6, max: 19 })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('future'), minutes: fc.integer({ min: 6, max: 10_000 }) }),
  },
) as fc.Arbitrary<Step>;

describe('ingest pipeline (property, real SQLite store)', () => {
  let h: Harness;
  let run = 0;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  it('stores exactly the accepted readings and refuses everything else with a VigilError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        run += 1;
        const deviceId = `prop-dev-${run}`;
        const patientId = `prop-pat-${run}`;
        const startMs = Date.now();
        await h.vigil.patients.add(patientId, { name: 'Property Test' });
        await h.care(patientId);
        await h.vigil.devices.add({ id: deviceId, model: 'Prop', serial: `S${run}` });
        await h.vigil.devices.assign(deviceId, patientId, startMs - 7_200_000);
        await h.vigil.directory.refresh();

        let seq = 0;
        const expected: Array<[number, number]> = [];
        for (const s of steps) {
          const nowMs = Date.now();
          let payload: Buffer;
          let mustStore: Array<[number, number]> | undefined;
          let mustRefuse: string | undefined;
          if (s.kind === 'valid' || s.kind === 'replay') {
            const replay = s.kind === 'replay' && seq > 0;
            const useSeq = replay ? seq : seq + 1;
            const base = nowMs - (s.kind === 'valid' ? s.ageS : 10) * 1000;
            const readings = s.values.map((v, i) => ({
              code: '8867-4',
              value: v,
              unit: '/min',
              ts: new Date(base + i).toISOString(),
            }));
            payload = Buffer.from(
              JSON.stringify({ seq: useSeq, ts: new Date(nowMs).toISOString(), readings }),
            );
            if (replay) mustRefuse = 'VIGIL_ERR_INGEST_REPLAY';
            else mustStore = readings.map((r, i) => [base + i, r.value]);
          } else if (s.kind === 'bytes') {
            payload = Buffer.from(s.bytes);
          } else if (s.kind === 'json') {
            payload = Buffer.from(JSON.stringify(s.value) ?? 'null');
          } else if (s.kind === 'implausible') {
            payload = Buffer.from(
              JSON.stringify({
                seq: seq + 1,
                ts: new Date(nowMs).toISOString(),
                readings: [{ code: '8867-4', value: s.value, unit: '/min' }],
              }),
            );
            mustRefuse = 'VIGIL_ERR_INGEST_IMPLAUSIBLE';
          } else {
            payload = Buffer.from(
              JSON.stringify({
                seq: seq + 1,
                ts: new Date(nowMs + s.minutes * 60_000).toISOString(),
                readings: [{ code: '8867-4', value: 70, unit: '/min' }],
              }),
            );
            mustRefuse = 'VIGIL_ERR_INGEST_FUTURE';
          }

          let outcome: { stored: number } | { duplicate: true } | VigilError;
          try {
            outcome = await h.vigil.pipeline.accept(deviceId, payload, 'http', nowMs);
          } catch (e) {
            if (!(e instanceof VigilError)) throw e;
            assert.ok(e.detail.length > 0);
            outcome = e;
          }
          if (mustStore) {
            assert.ok(!(outcome instanceof VigilError), `valid message refused: ${String(outcome)}`);
            assert.deepEqual(outcome, { stored: mustStore.length });
            seq += 1;
            expected.push(...mustStore);
          } else {
            // Random bytes or JSON cannot form a valid message with known codes and a fresh seq.
            assert.ok(outcome instanceof VigilError, `${s.kind} was accepted`);
            if (mustRefuse) assert.equal(outcome.code, mustRefuse);
          }
        }

        const res = await h.api(
          `/api/v1/patients/${patientId}/observations?from=${new Date(startMs - 7_200_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`,
        );
        assert.equal(res.status, 200, res.text);
        const got = (res.json as { observations: Array<{ effective: string; value: number }> }).observations
          .map((o): [number, number] => [Date.parse(o.effective), o.value])
          .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        expected.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        assert.deepEqual(got, expected);
      }),
      { numRuns: 30 },
    );
  });
});
