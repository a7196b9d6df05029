import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSignal } from './create-signal.ts';
import { HOUR_MS, MINUTE_MS, SECOND_MS } from './shapes.ts';
import { run, T0, timesOf, valuesOf } from './test-series.ts';
import { DEVICE_KINDS } from './types.ts';
import { VITALS } from './vital-codes.ts';

describe('device measurement stream', () => {
  it('answers its first call with the latest measurement, so a new device speaks at once', () => {
    const first = createSignal('bp-cuff', 1).sample(T0);
    assert.equal(first.length, 3);
    const ts = Date.parse(first[0]?.ts ?? '');
    assert.ok(ts <= T0 && ts > T0 - 15 * MINUTE_MS);
  });

  it('returns nothing when asked again before the next measurement, or for an earlier time', () => {
    const signal = createSignal('cgm', 1);
    signal.sample(T0);
    assert.deepEqual(signal.sample(T0), []);
    assert.deepEqual(signal.sample(T0 - HOUR_MS), []);
  });

  it('hands over every measurement taken since the last call, each with its own time (backfill)', () => {
    const signal = createSignal('cgm', 1);
    signal.sample(T0);
    const hour = signal.sample(T0 + HOUR_MS);
    assert.equal(hour.length, 12);
    const times = timesOf(hour, VITALS.glucose.code);
    assert.ok(times.every((t) => t > T0 - 5 * MINUTE_MS && t <= T0 + HOUR_MS));
  });

  it('stamps readings with the given clock', () => {
    const signal = createSignal('thermometer', 1, { timestamp: (t) => `sim+${t - T0}` });
    signal.sample(T0);
    const readings = signal.sample(T0 + MINUTE_MS);
    assert.equal(readings.length, 1);
    assert.match(readings[0]?.ts ?? '', /^sim\+\d+$/);
  });

  it('gives each device its own measurement phase', () => {
    const phases = new Set(
      [1, 2, 3, 4, 5].map((seed) => timesOf(createSignal('cgm', seed).sample(T0), '2339-0')[0]),
    );
    assert.ok(phases.size > 1);
  });
});

describe('signal-loss scenario', () => {
  it('stops all readings from its start, for every kind', () => {
    for (const kind of DEVICE_KINDS) {
      const start = T0 + HOUR_MS;
      const signal = createSignal(kind, 2, { scenario: 'signal-loss', scenarioStartMs: start });
      const before = run(signal, T0, start - 1, MINUTE_MS);
      assert.ok(before.length > 0, kind);
      assert.deepEqual(run(signal, start, start + 2 * HOUR_MS, MINUTE_MS), [], kind);
    }
  });

  it('starts at the first sample when no start is given', () => {
    const signal = createSignal('pulse-oximeter', 2, { scenario: 'signal-loss' });
    signal.sample(T0); // may still hold the measurement taken just before
    assert.deepEqual(signal.sample(T0 + MINUTE_MS), []);
  });
});

describe('sensor-fault scenario', () => {
  it('repeats the value measured when the fault began (flat line), timestamps still moving', () => {
    for (const kind of DEVICE_KINDS) {
      const start = T0 + 9 * HOUR_MS;
      const signal = createSignal(kind, 3, { scenario: 'sensor-fault', scenarioStartMs: start });
      run(signal, T0, start - 1, 15 * MINUTE_MS);
      const stuck = run(signal, start, start + 3 * HOUR_MS, 10 * SECOND_MS);
      assert.ok(stuck.length > 0, kind);
      for (const code of new Set(stuck.map((r) => r.code))) {
        assert.equal(new Set(valuesOf(stuck, code)).size, 1, `${kind} ${code} is not flat`);
        const times = timesOf(stuck, code);
        assert.ok((times.at(-1) ?? 0) > (times[0] ?? 0), `${kind} ${code} timestamps stand still`);
      }
    }
  });

  it('was varying before the fault', () => {
    const start = T0 + 9 * HOUR_MS;
    const signal = createSignal('cgm', 3, { scenario: 'sensor-fault', scenarioStartMs: start });
    const before = valuesOf(run(signal, T0, start - 1, HOUR_MS), VITALS.glucose.code);
    assert.ok(new Set(before).size > 5);
  });
});
