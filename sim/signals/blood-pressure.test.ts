import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSignal } from './create-signal.ts';
import { HOUR_MS, MINUTE_MS } from './shapes.ts';
import { mean, run, T0, timesOf, valuesBetween, valuesOf } from './test-series.ts';
import { VITALS } from './vital-codes.ts';

const SYS = VITALS.systolic.code;
const DIA = VITALS.diastolic.code;
const HR = VITALS.heartRate.code;

describe('blood-pressure cuff', () => {
  it('repeats the same series for the same seed', () => {
    const a = run(createSignal('bp-cuff', 2), T0, T0 + 6 * HOUR_MS, MINUTE_MS);
    assert.deepEqual(a, run(createSignal('bp-cuff', 2), T0, T0 + 6 * HOUR_MS, MINUTE_MS));
  });

  it('measures only every 15 minutes, however often it is asked', () => {
    const readings = run(createSignal('bp-cuff', 1), T0, T0 + 6 * HOUR_MS, MINUTE_MS);
    const times = timesOf(readings, SYS);
    assert.ok(times.length === 24 || times.length === 25, `${times.length} measurements`);
    for (let i = 1; i < times.length; i++)
      assert.equal((times[i] ?? 0) - (times[i - 1] ?? 0), 15 * MINUTE_MS);
    assert.deepEqual(timesOf(readings, DIA), times);
    assert.deepEqual(timesOf(readings, HR), times);
  });

  it('reads about 120/78 mm[Hg] in the daytime with a plausible pulse pressure', () => {
    for (const seed of [1, 2, 3, 4]) {
      const day = run(createSignal('bp-cuff', seed), T0 + 8 * HOUR_MS, T0 + 20 * HOUR_MS, 15 * MINUTE_MS);
      const sys = valuesOf(day, SYS);
      const dia = valuesOf(day, DIA);
      assert.ok(Math.abs(mean(sys) - 122) < 10, `seed ${seed}: systolic ${mean(sys)}`);
      assert.ok(Math.abs(mean(dia) - 80) < 8, `seed ${seed}: diastolic ${mean(dia)}`);
      assert.ok(day.every((r) => r.unit === (r.code === HR ? '/min' : 'mm[Hg]')));
      for (const [i, s] of sys.entries()) assert.ok(s - (dia[i] ?? 0) >= 20, `pulse pressure ${s}/${dia[i]}`);
    }
  });

  it('dips at night (a normal "dipper")', () => {
    const signal = createSignal('bp-cuff', 5);
    const all = run(signal, T0, T0 + 24 * HOUR_MS, HOUR_MS);
    const night = mean(valuesBetween(all, SYS, T0 + 1 * HOUR_MS, T0 + 5 * HOUR_MS));
    const day = mean(valuesBetween(all, SYS, T0 + 13 * HOUR_MS, T0 + 17 * HOUR_MS));
    assert.ok(night < day - 5, `night ${night} vs day ${day}`);
  });
});

describe('hypertensive-crisis scenario', () => {
  it('climbs to about 190/125 mm[Hg] within 30 minutes and stays there', () => {
    const start = T0 + 10 * HOUR_MS;
    const signal = createSignal('bp-cuff', 3, { scenario: 'hypertensive-crisis', scenarioStartMs: start });
    run(signal, start - HOUR_MS, start + 30 * MINUTE_MS - 1, 5 * MINUTE_MS);
    const crisis = run(signal, start + 30 * MINUTE_MS, start + 3 * HOUR_MS, 5 * MINUTE_MS);
    assert.ok(
      valuesOf(crisis, SYS).every((s) => s > 180),
      `systolic ${valuesOf(crisis, SYS)}`,
    );
    assert.ok(
      valuesOf(crisis, DIA).every((d) => d > 115),
      `diastolic ${valuesOf(crisis, DIA)}`,
    );
    assert.ok(Math.abs(mean(valuesOf(crisis, SYS)) - 190) < 5);
    assert.ok(Math.abs(mean(valuesOf(crisis, DIA)) - 125) < 4);
  });
});
