import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSignal } from './create-signal.ts';
import { GlucoseModel } from './glucose.ts';
import { HOUR_MS, MINUTE_MS } from './shapes.ts';
import { median, run, runsWhere, T0, timesOf, valuesOf } from './test-series.ts';
import { VITALS } from './vital-codes.ts';

const GLUCOSE = VITALS.glucose.code;
const DAY = 24 * HOUR_MS;

function glucoseDay(seed: number): number[] {
  // The first sample returns the measurement just before T0, so stopping one step short of
  // T0 + 24 h gives exactly one day: 288 readings.
  return valuesOf(run(createSignal('cgm', seed), T0, T0 + DAY - 5 * MINUTE_MS, 5 * MINUTE_MS), GLUCOSE);
}

describe('CGM glucose', () => {
  it('repeats the same series for the same seed and differs for another', () => {
    assert.deepEqual(glucoseDay(5), glucoseDay(5));
    assert.notDeepEqual(glucoseDay(5), glucoseDay(6));
  });

  it('does not depend on how often it is sampled', () => {
    const everyFive = run(createSignal('cgm', 5), T0, T0 + 6 * HOUR_MS, 5 * MINUTE_MS);
    const hourly = run(createSignal('cgm', 5), T0, T0 + 6 * HOUR_MS, HOUR_MS);
    assert.deepEqual(hourly, everyFive);
  });

  it('reports every 5 minutes in mg/dL under LOINC 2339-0', () => {
    const readings = run(createSignal('cgm', 1), T0, T0 + 2 * HOUR_MS, MINUTE_MS);
    assert.ok(readings.every((r) => r.code === '2339-0' && r.unit === 'mg/dL'));
    const times = timesOf(readings, GLUCOSE);
    for (let i = 1; i < times.length; i++) assert.equal((times[i] ?? 0) - (times[i - 1] ?? 0), 5 * MINUTE_MS);
  });

  it('stays in the 40–400 mg/dL reporting range, in integers, for 24 hours', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const day = glucoseDay(seed);
      assert.equal(day.length, 288);
      assert.ok(day.every((g) => Number.isInteger(g) && g >= 40 && g <= 400));
    }
  });

  it('shows three meal peaks a day, 40–80 mg/dL above the fasting level', () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const day = glucoseDay(seed);
      const fasting = median(day);
      // Runs above fasting + 20, merged when less than 45 min apart (noise at the edges).
      const runs = runsWhere(day, (g) => g > fasting + 20).filter(([a, b]) => b - a >= 3);
      const peaks = runs.map(([a, b]) => Math.max(...day.slice(a, b + 1)) - fasting);
      assert.equal(runs.length, 3, `seed ${seed}: ${runs.length} excursions, fasting ${fasting}`);
      assert.ok(
        peaks.every((p) => p >= 30 && p <= 100),
        `seed ${seed}: peaks ${peaks}`,
      );
    }
  });

  it('draws each meal within its mealtime window and shape limits', () => {
    const model = new GlucoseModel(9);
    const meals = model.mealsOn(Math.floor(T0 / DAY));
    const hours = meals.map((m) => (m.startMs - T0) / HOUR_MS);
    assert.ok(hours[0]! >= 6.5 && hours[0]! <= 8 && hours[1]! >= 11.75 && hours[1]! <= 13.25);
    assert.ok(hours[2]! >= 18 && hours[2]! <= 19.5);
    for (const m of meals) {
      assert.ok(m.riseMgDl >= 40 && m.riseMgDl <= 80);
      assert.ok(m.riseMs >= 45 * MINUTE_MS && m.riseMs <= 60 * MINUTE_MS);
      assert.ok(m.returnMs >= 120 * MINUTE_MS && m.returnMs <= 180 * MINUTE_MS);
    }
  });

  it('dips at night below the daytime fasting level', () => {
    const model = new GlucoseModel(3);
    const at = (hour: number) => model.trueGlucoseMgDl(T0 + hour * HOUR_MS);
    assert.ok(at(3) < at(10.5) - 5, `03:00 ${at(3)} vs 10:30 ${at(10.5)}`);
  });

  it('carries measurement noise of a few mg/dL between consecutive readings', () => {
    const night = glucoseDay(2).slice(0, 60); // 00:00–05:00, no meals
    const steps = night.slice(1).map((g, i) => g - (night[i] ?? g));
    const sd = Math.sqrt(steps.reduce((a, d) => a + d * d, 0) / steps.length);
    assert.ok(sd > 1.5 && sd < 6, `step SD ${sd}`);
  });
});

describe('hypoglycemia scenario', () => {
  it('falls below 54 mg/dL within 40 minutes of its start, and not before', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const start = T0 + 10 * HOUR_MS + 30 * MINUTE_MS;
      const signal = createSignal('cgm', seed, { scenario: 'hypoglycemia', scenarioStartMs: start });
      const before = valuesOf(run(signal, start - HOUR_MS, start - 1, 5 * MINUTE_MS), GLUCOSE);
      const during = run(signal, start, start + 40 * MINUTE_MS, 5 * MINUTE_MS);
      const after = valuesOf(
        run(signal, start + 45 * MINUTE_MS, start + 2 * HOUR_MS, 5 * MINUTE_MS),
        GLUCOSE,
      );
      assert.ok(
        before.every((g) => g > 70),
        `seed ${seed}: before ${before}`,
      );
      assert.ok(
        valuesOf(during, GLUCOSE).some((g) => g < 54),
        `seed ${seed}: during ${valuesOf(during, GLUCOSE)}`,
      );
      assert.ok(
        after.every((g) => g >= 40 && g < 58),
        `seed ${seed}: after ${after}`,
      );
    }
  });

  it('falls gradually, not in one step', () => {
    const start = T0 + 10 * HOUR_MS;
    const signal = createSignal('cgm', 4, { scenario: 'hypoglycemia', scenarioStartMs: start });
    const during = valuesOf(run(signal, start, start + 40 * MINUTE_MS, 5 * MINUTE_MS), GLUCOSE);
    const drops = during.slice(1).map((g, i) => (during[i] ?? g) - g);
    assert.ok(Math.max(...drops) < 25, `drops ${drops}`);
  });
});
