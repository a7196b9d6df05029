import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSignal } from './create-signal.ts';
import { HOUR_MS, MINUTE_MS } from './shapes.ts';
import { mean, run, T0, valuesBetween, valuesOf } from './test-series.ts';
import { VITALS } from './vital-codes.ts';

const TEMP = VITALS.bodyTemperature.code;

describe('thermometer', () => {
  it('repeats the same series for the same seed', () => {
    const a = run(createSignal('thermometer', 4), T0, T0 + 6 * HOUR_MS, 5 * MINUTE_MS);
    assert.deepEqual(a, run(createSignal('thermometer', 4), T0, T0 + 6 * HOUR_MS, 5 * MINUTE_MS));
  });

  it('reports once a minute, in Cel, with one decimal, within 36.4–37.4', () => {
    for (const seed of [1, 2, 3]) {
      const day = run(createSignal('thermometer', seed), T0, T0 + 24 * HOUR_MS - MINUTE_MS, 10 * MINUTE_MS);
      const temps = valuesOf(day, TEMP);
      assert.equal(temps.length, 24 * 60);
      assert.ok(day.every((r) => r.unit === 'Cel'));
      assert.ok(
        temps.every((t) => Math.round(t * 10) / 10 === t && t >= 36.4 && t <= 37.4),
        `seed ${seed}`,
      );
    }
  });

  it('is lowest in the early morning and highest in the late afternoon', () => {
    const day = run(createSignal('thermometer', 2), T0, T0 + 24 * HOUR_MS, HOUR_MS);
    const early = mean(valuesBetween(day, TEMP, T0 + 3 * HOUR_MS, T0 + 6 * HOUR_MS));
    const afternoon = mean(valuesBetween(day, TEMP, T0 + 15 * HOUR_MS, T0 + 18 * HOUR_MS));
    assert.ok(afternoon - early > 0.25, `early ${early} vs afternoon ${afternoon}`);
  });
});
