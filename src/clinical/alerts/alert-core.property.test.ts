import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Reading } from '../readings-codec.ts';
import { CODES } from './alert-conditions.ts';
import { AlertCore, type CoreEvent } from './alert-core.ts';
import { DEFAULT_ALERT_RULES } from './alert-rules.ts';
import { T0 } from './test-traces.ts';

/** Plausible value ranges per code, wide enough to cross every threshold both ways. */
const RANGES: Array<[string, number, number]> = [
  [CODES.glucose, 30, 400],
  [CODES.spo2, 70, 100],
  [CODES.heartRate, 25, 200],
  [CODES.systolic, 90, 230],
  [CODES.diastolic, 50, 150],
  [CODES.temperature, 35, 41],
];

const readingArb = fc
  .record({
    kind: fc.integer({ min: 0, max: RANGES.length - 1 }),
    fraction: fc.double({ min: 0, max: 1, noNaN: true }),
    stepMs: fc.integer({ min: 0, max: 600_000 }),
  })
  .map(({ kind, fraction, stepMs }) => {
    const [code, min, max] = RANGES[kind]!;
    return { code, value: Math.round(min + (max - min) * fraction), stepMs };
  });

const traceArb = fc.array(readingArb, { maxLength: 300 }).map((steps) => {
  let ts = T0;
  return steps.map(({ code, value, stepMs }) => {
    ts += stepMs;
    return { code, value, tsMs: ts } satisfies Reading;
  });
});

function evaluate(readings: Reading[], cuts: number[]): CoreEvent[] {
  const core = new AlertCore(() => DEFAULT_ALERT_RULES);
  const receivedMs = (readings.at(-1)?.tsMs ?? T0) + 1;
  const out: CoreEvent[] = [];
  let from = 0;
  for (const cut of [
    ...cuts.filter((c) => c > 0 && c < readings.length).sort((a, b) => a - b),
    readings.length,
  ]) {
    if (cut <= from) continue;
    core.observeMessage(
      { deviceId: 'dev-1', receivedMs, parts: [{ patientId: 'p-1', readings: readings.slice(from, cut) }] },
      receivedMs,
      out,
    );
    from = cut;
  }
  return out;
}

describe('alert core invariants', () => {
  it('never holds two open alerts for one condition: raise, updates, clear, in that order', () => {
    fc.assert(
      fc.property(traceArb, (readings) => {
        const isOpen = new Map<string, boolean>();
        for (const e of evaluate(readings, [])) {
          if (e.type !== 'alert') continue;
          const key = `${e.patientId}|${e.signal.condition}|${e.signal.deviceId ?? ''}`;
          const open = isOpen.get(key) ?? false;
          if (e.signal.kind === 'raise') assert.equal(open, false, `second raise of ${key}`);
          else assert.equal(open, true, `${e.signal.kind} of ${key} while not raised`);
          isOpen.set(key, e.signal.kind !== 'clear');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same alerts however the readings are split into messages', () => {
    fc.assert(
      fc.property(
        traceArb,
        fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 20 }),
        (readings, cuts) => {
          const strip = (events: CoreEvent[]) => events.filter((e) => e.type === 'alert');
          assert.deepEqual(strip(evaluate(readings, cuts)), strip(evaluate(readings, [])));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('raises an alert only at the time of a reading it was given', () => {
    fc.assert(
      fc.property(traceArb, (readings) => {
        const times = new Set(readings.map((r) => r.tsMs));
        for (const e of evaluate(readings, [])) {
          if (e.type === 'alert' && e.signal.kind === 'raise') assert.ok(times.has(e.signal.tsMs));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('raises no urgent alert from a sensor stuck at any one value', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 25, max: 39, noNaN: true }),
        fc.double({ min: 70, max: 89, noNaN: true }),
        (hr, spo2) => {
          const readings: Reading[] = [];
          for (let s = 0; s < 600; s++) {
            readings.push({ code: CODES.heartRate, value: Math.round(hr), tsMs: T0 + s * 1000 });
            readings.push({ code: CODES.spo2, value: Math.round(spo2), tsMs: T0 + s * 1000 });
          }
          const raised = evaluate(readings, [10, 20, 30, 40, 50]).filter(
            (e) => e.type === 'alert' && e.signal.kind === 'raise',
          );
          assert.deepEqual(raised, []);
        },
      ),
      { numRuns: 50 },
    );
  });
});
