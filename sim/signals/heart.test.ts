import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSignal } from './create-signal.ts';
import { Spo2 } from './heart.ts';
import { HOUR_MS, MINUTE_MS, SECOND_MS } from './shapes.ts';
import { mean, median, run, runsWhere, T0, timesOf, valuesBetween, valuesOf } from './test-series.ts';
import { VITALS } from './vital-codes.ts';

const HR = VITALS.heartRate.code;
const SPO2 = VITALS.spo2.code;
const DAY = 24 * HOUR_MS;

/** A whole day at the oximeter's 1 Hz cadence, fetched a minute at a time. */
function oximeterDay(seed: number) {
  return run(createSignal('pulse-oximeter', seed), T0, T0 + DAY - SECOND_MS, MINUTE_MS);
}

describe('pulse oximeter', () => {
  it('repeats the same series for the same seed', () => {
    const a = run(createSignal('pulse-oximeter', 8), T0, T0 + HOUR_MS, 10 * SECOND_MS);
    const b = run(createSignal('pulse-oximeter', 8), T0, T0 + HOUR_MS, 10 * SECOND_MS);
    assert.deepEqual(a, b);
  });

  it('reports heart rate (/min) and SpO2 (%) once a second', () => {
    const readings = run(createSignal('pulse-oximeter', 1), T0, T0 + MINUTE_MS, 5 * SECOND_MS);
    assert.ok(readings.filter((r) => r.code === HR).every((r) => r.unit === '/min'));
    assert.ok(readings.filter((r) => r.code === SPO2).every((r) => r.unit === '%'));
    const times = timesOf(readings, SPO2);
    assert.equal(times.length, 61);
    for (let i = 1; i < times.length; i++) assert.equal((times[i] ?? 0) - (times[i - 1] ?? 0), SECOND_MS);
  });

  it('keeps a resting heart rate of about 55–90 /min, lower at night', () => {
    const readings = oximeterDay(3);
    const hr = valuesOf(readings, HR);
    assert.ok(
      hr.every((b) => Number.isInteger(b) && b >= 50 && b <= 95),
      `${Math.min(...hr)}–${Math.max(...hr)}`,
    );
    const night = mean(valuesBetween(readings, HR, T0 + 2 * HOUR_MS, T0 + 5 * HOUR_MS));
    const afternoon = mean(valuesBetween(readings, HR, T0 + 14 * HOUR_MS, T0 + 17 * HOUR_MS));
    assert.ok(night < afternoon - 5, `night ${night} vs afternoon ${afternoon}`);
  });

  it('keeps SpO2 within 80–100 %, mostly 95–99 %', () => {
    for (const seed of [1, 2, 3]) {
      const spo2 = valuesOf(oximeterDay(seed), SPO2);
      assert.ok(spo2.every((s) => Number.isInteger(s) && s >= 80 && s <= 100));
      const typical = spo2.filter((s) => s >= 95 && s <= 99).length / spo2.length;
      assert.ok(typical > 0.95, `seed ${seed}: ${typical} of readings in 95–99`);
    }
  });

  it('shows brief desaturations below 92 % a few times a day, but rarely', () => {
    for (const seed of [1, 2, 3]) {
      const spo2 = valuesOf(oximeterDay(seed), SPO2);
      const episodes = runsWhere(spo2, (s) => s < 92);
      const secondsLow = episodes.reduce((a, [from, to]) => a + to - from + 1, 0);
      assert.ok(episodes.length >= 4 && episodes.length <= 24, `seed ${seed}: ${episodes.length} episodes`);
      assert.ok(
        episodes.every(([from, to]) => to - from + 1 <= 40),
        `seed ${seed}: an episode lasted over 40 s`,
      );
      assert.ok(secondsLow / spo2.length < 0.01, `seed ${seed}: ${secondsLow} s below 92 %`);
    }
  });

  it('draws at most one brief desaturation an hour, 10–40 s down to 86–91 %', () => {
    const spo2 = new Spo2(4);
    const hour0 = Math.floor(T0 / HOUR_MS);
    for (let h = hour0; h < hour0 + 48; h++) {
      const episode = spo2.desaturationIn(h);
      if (episode === undefined) continue;
      assert.ok(episode.startMs >= h * HOUR_MS && episode.startMs + episode.durationMs <= (h + 1) * HOUR_MS);
      assert.ok(episode.durationMs >= 10 * SECOND_MS && episode.durationMs <= 40 * SECOND_MS);
      assert.ok(episode.nadirPercent >= 86 && episode.nadirPercent <= 91);
    }
  });
});

describe('desaturation scenario', () => {
  it('holds SpO2 near 85 % after a few minutes, with a compensating rise in heart rate', () => {
    const start = T0 + 14 * HOUR_MS;
    const signal = createSignal('pulse-oximeter', 6, { scenario: 'desaturation', scenarioStartMs: start });
    const before = run(signal, start - 10 * MINUTE_MS, start - SECOND_MS, 10 * SECOND_MS);
    run(signal, start, start + 5 * MINUTE_MS, 10 * SECOND_MS);
    const sustained = run(signal, start + 5 * MINUTE_MS, start + 30 * MINUTE_MS, 10 * SECOND_MS);
    const spo2 = valuesOf(sustained, SPO2);
    assert.ok(Math.abs(median(spo2) - 85) <= 1, `median ${median(spo2)}`);
    assert.ok(spo2.every((s) => s >= 80 && s <= 90));
    assert.ok(mean(valuesOf(sustained, HR)) > mean(valuesOf(before, HR)) + 10);
  });
});
