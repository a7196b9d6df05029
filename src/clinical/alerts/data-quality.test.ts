import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CODES } from './alert-conditions.ts';
import { DataQualityMonitor } from './data-quality.ts';
import { MINUTE, noise, T0 } from './test-traces.ts';

describe('data quality', () => {
  it('passes a normal noisy heart rate', () => {
    const q = new DataQualityMonitor();
    for (let s = 0; s < 600; s++) {
      const ts = T0 + s * 1000;
      assert.equal(
        q.assess('ox-1', 'p-1', CODES.heartRate, Math.round(72 + noise(1, s, 3)), ts, ts),
        undefined,
      );
    }
  });

  // Was "...and the whole device with it": any frozen heart rate doubted the SpO2 beside it,
  // which silenced SpO2 alerts for a paced patient. Now SpO2 is doubted only when it, too, has
  // not changed since the rate froze.
  it('flags a heart rate stuck at one value for 30 s as a flat line, and an SpO2 stuck beside it', () => {
    const q = new DataQualityMonitor();
    const issues: Array<string | undefined> = [];
    for (let s = 0; s < 60; s++) {
      const ts = T0 + s * 1000;
      issues.push(q.assess('ox-1', 'p-1', CODES.heartRate, 71, ts, ts));
      const spo2 = q.assess('ox-1', 'p-1', CODES.spo2, 96, ts, ts);
      if (s === 59) assert.equal(spo2, 'flat-line');
    }
    assert.equal(issues.indexOf('flat-line'), 30);
    assert.ok(issues.slice(30).every((i) => i === 'flat-line'));
    assert.equal(
      q.assess('ox-1', 'p-1', CODES.heartRate, 75, T0 + 61_000, T0 + 61_000),
      undefined,
      'a change ends it',
    );
  });

  it("does not doubt a paced patient's SpO2 once it changes after the heart rate held still", () => {
    const q = new DataQualityMonitor();
    const spo2: Array<string | undefined> = [];
    for (let s = 0; s < 600; s++) {
      const ts = T0 + s * 1000;
      assert.equal(q.assess('ox-1', 'p-1', CODES.heartRate, 60, ts, ts), s < 30 ? undefined : 'flat-line');
      spo2.push(q.assess('ox-1', 'p-1', CODES.spo2, s < 120 ? 96 : 82, ts, ts));
    }
    // 96 -> 82 within a second is a jump until the next reading confirms it; then nothing.
    assert.equal(spo2[120], 'implausible-jump');
    assert.ok(spo2.slice(121).every((i) => i === undefined));
  });

  it('does not flag a steady SpO2 of a few minutes', () => {
    const q = new DataQualityMonitor();
    for (let s = 0; s < 300; s++) {
      const ts = T0 + s * 1000;
      assert.equal(q.assess('ox-1', 'p-1', CODES.spo2, 98, ts, ts), undefined);
    }
  });

  it('flags an implausible jump between close readings but not the same change over time', () => {
    const q = new DataQualityMonitor();
    q.assess('ox-1', 'p-1', CODES.spo2, 97, T0, T0);
    assert.equal(q.assess('ox-1', 'p-1', CODES.spo2, 70, T0 + 1000, T0 + 1000), 'implausible-jump');
    const r = new DataQualityMonitor();
    r.assess('cgm-1', 'p-1', CODES.glucose, 120, T0, T0);
    assert.equal(r.assess('cgm-1', 'p-1', CODES.glucose, 100, T0 + 5 * MINUTE, T0 + 5 * MINUTE), undefined);
    assert.equal(
      r.assess('cgm-1', 'p-1', CODES.glucose, 30, T0 + 6 * MINUTE, T0 + 6 * MINUTE),
      'implausible-jump',
    );
  });

  it('flags readings stamped ahead of the server and devices whose status clock is far off', () => {
    const q = new DataQualityMonitor();
    assert.equal(q.assess('t-1', 'p-1', CODES.temperature, 37, T0 + 3 * MINUTE, T0), 'clock-skew');
    assert.equal(q.noteDeviceClock('t-2', T0 - 30 * MINUTE, T0), true);
    assert.equal(q.assess('t-2', 'p-1', CODES.temperature, 37, T0, T0), 'clock-skew');
    assert.equal(q.noteDeviceClock('t-2', T0 + 1000, T0), false);
    assert.equal(q.assess('t-2', 'p-1', CODES.temperature, 37, T0 + MINUTE, T0 + MINUTE), undefined);
  });
});

describe('data quality: baselines and flat lines', () => {
  const glucose = (q: DataQualityMonitor, value: number, minute: number) =>
    q.assess('cgm-1', 'p-1', CODES.glucose, value, T0 + minute * MINUTE, T0 + minute * MINUTE);

  it('judges the reading after a glitch against the last good one, not the glitch', () => {
    const q = new DataQualityMonitor();
    const issues = [100, 101, 99, 400, 100, 98].map((v, i) => glucose(q, v, i * 5));
    assert.deepEqual(issues, [undefined, undefined, undefined, 'implausible-jump', undefined, undefined]);
  });

  it('takes a new level confirmed by the next reading as real', () => {
    const q = new DataQualityMonitor();
    const issues = [100, 200, 202, 201].map((v, i) => glucose(q, v, i));
    assert.deepEqual(issues, [undefined, 'implausible-jump', undefined, undefined]);
  });

  it("flags only the frozen code, not a temperature-steady monitor's SpO2", () => {
    const q = new DataQualityMonitor();
    for (let m = 0; m <= 31; m++)
      q.assess('mon-1', 'p-1', CODES.temperature, 36.8, T0 + m * MINUTE, T0 + m * MINUTE);
    const ts = T0 + 31 * MINUTE;
    assert.equal(q.assess('mon-1', 'p-1', CODES.temperature, 36.8, ts + 1, ts + 1), 'flat-line');
    assert.equal(q.assess('mon-1', 'p-1', CODES.spo2, 96, ts + 2, ts + 2), undefined);
  });

  it('stops doubting SpO2 once the frozen heart rate has gone silent', () => {
    const q = new DataQualityMonitor();
    for (let s = 0; s < 40; s++) {
      q.assess('ox-1', 'p-1', CODES.heartRate, 71, T0 + s * 1000, T0 + s * 1000);
      q.assess('ox-1', 'p-1', CODES.spo2, 96, T0 + s * 1000, T0 + s * 1000);
    }
    assert.equal(q.assess('ox-1', 'p-1', CODES.spo2, 96, T0 + 40_000, T0 + 40_000), 'flat-line');
    const later = T0 + 5 * MINUTE;
    assert.equal(q.assess('ox-1', 'p-1', CODES.spo2, 96, later, later), undefined);
  });

  it('doubts the heart rate beside an SpO2 frozen for 10 minutes', () => {
    const q = new DataQualityMonitor();
    let last: string | undefined;
    for (let s = 0; s <= 600; s++) {
      const ts = T0 + s * 1000;
      q.assess('ox-1', 'p-1', CODES.spo2, 97, ts, ts);
      last = q.assess('ox-1', 'p-1', CODES.heartRate, Math.round(72 + noise(1, s, 3)), ts, ts);
    }
    assert.equal(last, 'flat-line');
  });
});
