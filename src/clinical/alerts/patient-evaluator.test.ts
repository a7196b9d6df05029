import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Reading } from '../readings-codec.ts';
import { type AlertSignal, CODES } from './alert-conditions.ts';
import { type AlertRules, DEFAULT_ALERT_RULES } from './alert-rules.ts';
import { PatientEvaluator } from './patient-evaluator.ts';
import { glucoseTrace, MINUTE, noise, perSecond, spo2WithDip, T0 } from './test-traces.ts';

function run(
  readings: Reading[],
  rules: AlertRules = DEFAULT_ALERT_RULES,
  questionable = false,
): AlertSignal[] {
  const evaluator = new PatientEvaluator(rules);
  const out: AlertSignal[] = [];
  for (const r of readings) evaluator.observe(r.code, r.value, r.tsMs, questionable, out);
  return out;
}
const raised = (signals: AlertSignal[]) => signals.filter((s) => s.kind === 'raise').map((s) => s.condition);

describe('patient rule evaluation', () => {
  it('raises one urgent low for a glucose fall to 50 mg/dL, after a predicted urgent low', () => {
    const signals = run(glucoseTrace({ from: 130, to: 50, minutes: 40, totalMinutes: 60, noiseMgDl: 2 }));
    const order = raised(signals);
    assert.equal(order.filter((c) => c === 'glucose-urgent-low').length, 1);
    assert.equal(order.filter((c) => c === 'glucose-predicted-urgent-low').length, 1);
    assert.ok(order.indexOf('glucose-predicted-urgent-low') < order.indexOf('glucose-urgent-low'));
    assert.ok(order.includes('glucose-low'));
    const predictedRaise = signals.find(
      (s) => s.condition === 'glucose-predicted-urgent-low' && s.kind === 'raise',
    );
    const urgentRaise = signals.find((s) => s.condition === 'glucose-urgent-low' && s.kind === 'raise');
    assert.ok(
      urgentRaise!.tsMs - predictedRaise!.tsMs >= 10 * MINUTE,
      'the prediction gives at least 10 minutes',
    );
  });

  it('supersedes the prediction once the urgent low itself is met', () => {
    const signals = run(glucoseTrace({ from: 130, to: 50, minutes: 40, totalMinutes: 60 }));
    const urgent = signals.findIndex((s) => s.condition === 'glucose-urgent-low' && s.kind === 'raise');
    const cleared = signals.findIndex(
      (s) => s.condition === 'glucose-predicted-urgent-low' && s.kind === 'clear',
    );
    assert.ok(cleared > urgent);
  });

  it('predicts an urgent low from a gentle slope only once the next reading confirms it', () => {
    // 58 mg/dL after an hour at 70: the 20-minute projection of that slope (-0.5 mg/dL/min)
    // is just under 54. Alone it is sensor noise; the next reading decides.
    const cgm = (values: number[]) =>
      values.map((value, i) => ({ code: CODES.glucose, value, tsMs: T0 + 5 * i * MINUTE }));
    const predicted = (signals: AlertSignal[]) =>
      signals
        .filter((s) => s.condition === 'glucose-predicted-urgent-low' && s.kind === 'raise')
        .map((s) => (s.tsMs - T0) / MINUTE);
    const flat = [70, 70, 70, 70, 70, 70, 70, 70, 70, 70, 70, 70];
    assert.deepEqual(predicted(run(cgm([...flat, 58, 68]))), []);
    assert.deepEqual(predicted(run(cgm([...flat, 58, 57]))), [65]);
    const unconfirmed = { ...DEFAULT_ALERT_RULES, predictedLowConfirmMinutes: 0 };
    assert.deepEqual(predicted(run(cgm([...flat, 58, 68]), unconfirmed)), [60]);
  });

  it('predicts an urgent low at once when glucose is clearly falling', () => {
    // A fall of 2.5 mg/dL/min from a plateau: the warning must not wait for another reading.
    const readings = [
      ...glucoseTrace({ from: 110, to: 110, minutes: 60, noiseMgDl: 2 }),
      ...glucoseTrace({ from: 110, to: 40, minutes: 28, startMs: T0 + 65 * MINUTE }),
    ];
    const first = (rules: AlertRules) =>
      run(readings, rules).find((s) => s.condition === 'glucose-predicted-urgent-low' && s.kind === 'raise')
        ?.tsMs;
    const confirmed = first(DEFAULT_ALERT_RULES);
    assert.ok(confirmed !== undefined);
    assert.equal(confirmed, first({ ...DEFAULT_ALERT_RULES, predictedLowConfirmMinutes: 0 }));
  });

  it('halves the predicted urgent lows of a noisy day hovering in the 60s', () => {
    // A day of CGM readings wandering 60-72 mg/dL with ±8 mg/dL of sensor noise.
    const day = Array.from({ length: 288 }, (_, i) => ({
      code: CODES.glucose,
      value: Math.round(66 + 6 * Math.sin(i / 12) + noise(5, i, 8)),
      tsMs: T0 + 5 * i * MINUTE,
    }));
    const count = (rules: AlertRules) =>
      raised(run(day, rules)).filter((c) => c === 'glucose-predicted-urgent-low').length;
    const before = count({ ...DEFAULT_ALERT_RULES, predictedLowConfirmMinutes: 0, glucoseClearMinutes: 0 });
    const now = count(DEFAULT_ALERT_RULES);
    assert.ok(now > 0, 'the trace does reach a predicted low');
    assert.ok(now * 2 <= before, `${now} predicted lows against ${before} without confirmation`);
  });

  it('updates, not repeats, an urgent low that gets worse', () => {
    const signals = run(glucoseTrace({ from: 60, to: 40, minutes: 30, totalMinutes: 45 }));
    const urgent = signals.filter((s) => s.condition === 'glucose-urgent-low');
    assert.equal(urgent.filter((s) => s.kind === 'raise').length, 1);
    assert.ok(urgent.some((s) => s.kind === 'update' && s.value === 40));
  });

  it('does not flap on glucose hovering at the threshold', () => {
    const readings = glucoseTrace({ from: 54, to: 54, minutes: 120, noiseMgDl: 3 });
    const signals = run(readings);
    assert.ok(raised(signals).filter((c) => c === 'glucose-urgent-low').length <= 1);
    assert.equal(signals.filter((s) => s.condition === 'glucose-urgent-low' && s.kind === 'clear').length, 0);
  });

  it('clears an urgent low once glucose has stayed above threshold plus hysteresis for 15 minutes', () => {
    const down = glucoseTrace({ from: 52, to: 52, minutes: 10 });
    // 56 and 58 are inside the band (54 + 5): only from 60 does the recovery count.
    const up = [56, 58, 60, 62, 61, 63, 64].map((value, i) => ({
      code: CODES.glucose,
      value,
      tsMs: T0 + (15 + 5 * i) * MINUTE,
    }));
    const signals = run([...down, ...up]).filter((s) => s.condition === 'glucose-urgent-low');
    assert.deepEqual(
      signals.map((s) => [s.kind, s.tsMs]),
      [
        ['raise', T0],
        ['clear', T0 + 40 * MINUTE],
      ],
    );
  });

  it('keeps one low glucose episode while CGM readings wander back across 70 mg/dL', () => {
    // Back in range for 10 minutes at a time, then low again: one episode, not four alerts.
    const wander = [68, 66, 72, 77, 78, 69, 67, 76, 79, 68, 71, 76, 80, 68, 66, 65];
    const readings = wander.map((value, i) => ({ code: CODES.glucose, value, tsMs: T0 + 5 * i * MINUTE }));
    const low = run(readings).filter((s) => s.condition === 'glucose-low');
    assert.deepEqual(
      low.filter((s) => s.kind !== 'update').map((s) => s.kind),
      ['raise'],
    );
    const last = low.at(-1);
    assert.equal(last?.kind === 'update' ? last.value : undefined, 65);
    // The same trace with no clear delay shows what the delay saves.
    const noDelay = run(readings, { ...DEFAULT_ALERT_RULES, glucoseClearMinutes: 0 });
    assert.equal(raised(noDelay).filter((c) => c === 'glucose-low').length, 4);
  });

  it('raises a glucose low again after 15 minutes back in range, as a new episode', () => {
    const values = [65, 76, 77, 78, 79, 80, 66];
    const readings = values.map((value, i) => ({ code: CODES.glucose, value, tsMs: T0 + 5 * i * MINUTE }));
    const low = run(readings).filter((s) => s.condition === 'glucose-low');
    assert.deepEqual(
      low.map((s) => [s.kind, (s.tsMs - T0) / MINUTE]),
      [
        ['raise', 0],
        ['clear', 20],
        ['raise', 30],
      ],
    );
  });

  it('clears a low from a meter read hourly on the second reading back in range', () => {
    const values = [62, 90, 95, 64];
    const readings = values.map((value, i) => ({ code: CODES.glucose, value, tsMs: T0 + 60 * i * MINUTE }));
    const low = run(readings).filter((s) => s.condition === 'glucose-low');
    assert.deepEqual(
      low.map((s) => [s.kind, (s.tsMs - T0) / MINUTE]),
      [
        ['raise', 0],
        ['clear', 120],
        ['raise', 180],
      ],
    );
  });

  it('raises nothing for a noisy SpO2 that dips below 90 % for 10 s', () => {
    assert.deepEqual(run(spo2WithDip(300, 120, 10)), []);
  });

  it('raises SpO2 low once a dip has lasted 60 s of reading time, and clears after recovery', () => {
    const signals = run(spo2WithDip(400, 100, 120));
    assert.deepEqual(raised(signals), ['spo2-low']);
    const raise = signals.find((s) => s.kind === 'raise')!;
    assert.ok(raise.tsMs >= T0 + 160_000 && raise.tsMs <= T0 + 162_000);
    assert.ok(signals.some((s) => s.kind === 'clear'));
  });

  it('counts sustained time from reading timestamps, not from how readings are batched', () => {
    const slow = spo2WithDip(200, 0, 200).filter((_, i) => i % 10 === 0);
    assert.deepEqual(raised(run(slow)), ['spo2-low']);
  });

  it('breaks a sustained run across a gap in the readings', () => {
    const before = perSecond(CODES.spo2, 40, () => 85);
    const after = perSecond(CODES.spo2, 40, () => 85, T0 + 10 * MINUTE);
    assert.deepEqual(run([...before, ...after]), []);
  });

  it('raises heart rate low and high only when sustained', () => {
    const brady = perSecond(CODES.heartRate, 90, (s) => 36 + noise(1, s, 2));
    assert.deepEqual(raised(run(brady)), ['heart-rate-low']);
    const burst = perSecond(CODES.heartRate, 90, (s) => (s < 30 ? 140 : 80));
    assert.deepEqual(run(burst), []);
  });

  it('raises one blood-pressure alert for a crisis on both sides, cleared when both are back', () => {
    const bp = (min: number, sys: number, dia: number) => [
      { code: CODES.systolic, value: sys, tsMs: T0 + min * MINUTE },
      { code: CODES.diastolic, value: dia, tsMs: T0 + min * MINUTE },
    ];
    const signals = run([...bp(0, 150, 95), ...bp(15, 190, 125), ...bp(30, 165, 125), ...bp(45, 160, 100)]);
    assert.deepEqual(
      signals.map((s) => s.kind),
      ['raise', 'update', 'clear'],
    );
    assert.equal(signals.at(-1)!.tsMs, T0 + 45 * MINUTE);
  });

  it('raises fever above 38.3 Cel', () => {
    const temps = [37.9, 38.5, 38.2, 37.9].map((value, i) => ({
      code: CODES.temperature,
      value,
      tsMs: T0 + i * MINUTE,
    }));
    assert.deepEqual(
      run(temps).map((s) => s.kind),
      ['raise', 'clear'],
    );
  });

  it('raises rate-of-change alerts beyond 3 mg/dL/min', () => {
    const fast = glucoseTrace({ from: 250, to: 150, minutes: 25 });
    assert.ok(raised(run(fast)).includes('glucose-falling-fast'));
    const slow = glucoseTrace({ from: 150, to: 120, minutes: 25 });
    assert.ok(!raised(run(slow)).includes('glucose-falling-fast'));
  });

  it('lets questionable readings raise nothing on their own', () => {
    assert.deepEqual(run(glucoseTrace({ from: 130, to: 40, minutes: 40 }), DEFAULT_ALERT_RULES, true), []);
    assert.deepEqual(
      run(
        perSecond(CODES.spo2, 300, () => 80),
        DEFAULT_ALERT_RULES,
        true,
      ),
      [],
    );
  });

  it('follows per-patient overrides', () => {
    const rules = { ...DEFAULT_ALERT_RULES, spo2LowPercent: 85 };
    assert.deepEqual(
      run(
        perSecond(CODES.spo2, 120, () => 87),
        rules,
      ),
      [],
    );
    assert.deepEqual(raised(run(perSecond(CODES.spo2, 120, () => 87))), ['spo2-low']);
  });
});

describe('patient rule evaluation: sparse devices and edges', () => {
  const every = (code: string, stepMs: number, n: number, value: (i: number) => number): Reading[] =>
    Array.from({ length: n }, (_, i) => ({ code, value: value(i), tsMs: T0 + i * stepMs }));

  it('raises spo2-low for a device reporting 80 % once a minute (sparser than the sustain)', () => {
    assert.deepEqual(raised(run(every(CODES.spo2, MINUTE, 5, (i) => 80 + (i % 2)))), ['spo2-low']);
  });

  it('raises heart-rate-high for a cuff reporting 150 /min every 15 min', () => {
    assert.deepEqual(raised(run(every(CODES.heartRate, 15 * MINUTE, 3, () => 150))), ['heart-rate-high']);
  });

  it('does not raise on a single sparse reading beyond the threshold', () => {
    assert.deepEqual(raised(run(every(CODES.spo2, MINUTE, 4, (i) => (i === 2 ? 80 : 97)))), []);
  });

  it('clears a sparse spo2-low once two readings in a row are back in range', () => {
    const signals = run(every(CODES.spo2, MINUTE, 5, (i) => (i < 2 ? 80 : 97)));
    assert.deepEqual(
      signals.map((s) => `${s.kind}:${s.condition}`),
      ['raise:spo2-low', 'clear:spo2-low'],
    );
  });

  it('raises a fever at exactly 38.3 °C (IDSA: >= 38.3)', () => {
    assert.deepEqual(raised(run(every(CODES.temperature, MINUTE, 1, () => 38.3))), ['temperature-high']);
  });

  it('keeps a restored diastolic crisis when the next systolic is normal', () => {
    const evaluator = new PatientEvaluator(DEFAULT_ALERT_RULES);
    evaluator.restore('blood-pressure-high', 125);
    const out: AlertSignal[] = [];
    evaluator.observe(CODES.systolic, 150, T0, false, out);
    evaluator.observe(CODES.diastolic, 126, T0, false, out);
    assert.deepEqual(
      out.map((s) => `${s.kind}:${s.condition}`),
      ['update:blood-pressure-high'],
    );
  });
});

describe('patient rule evaluation: a second device synced late', () => {
  const at = (code: string, value: number, minute: number): Reading => ({
    code,
    value,
    tsMs: T0 + minute * MINUTE,
  });
  const cgmUpTo60 = () => glucoseTrace({ from: 110, to: 110, minutes: 60 });
  const steps = (signals: AlertSignal[]) =>
    signals.map((s) => `${(s.tsMs - T0) / MINUTE}:${s.kind}:${s.condition}`);

  it('raises a low from a meter reading stamped before the CGM readings already seen', () => {
    const signals = run([...cgmUpTo60(), at(CODES.glucose, 42, 58)]);
    assert.deepEqual(steps(signals), ['58:raise:glucose-urgent-low', '58:raise:glucose-low']);
  });

  it('clears that low only after the usual 15 minutes of CGM readings back in range', () => {
    const back = [65, 70, 75, 80].map((m) => at(CODES.glucoseCgm, 110, m));
    const signals = run([...cgmUpTo60(), at(CODES.glucose, 42, 58), ...back]);
    assert.deepEqual(steps(signals).slice(2), ['80:clear:glucose-urgent-low', '80:clear:glucose-low']);
  });

  it('neither clears nor times anything with a late reading in range', () => {
    const signals = run([
      at(CODES.glucoseCgm, 45, 0),
      at(CODES.glucoseCgm, 46, 5),
      at(CODES.glucoseCgm, 44, 30),
      at(CODES.glucose, 110, 10),
      at(CODES.glucose, 112, 29),
    ]);
    assert.deepEqual(steps(signals), [
      '0:raise:glucose-urgent-low',
      '0:raise:glucose-low',
      '30:update:glucose-urgent-low',
      '30:update:glucose-low',
    ]);
  });

  it('does not raise a sustained condition (SpO2) on one late reading', () => {
    const spo2 = perSecond(CODES.spo2, 120, () => 97);
    assert.deepEqual(run([...spo2, { code: CODES.spo2, value: 80, tsMs: T0 + 60_000 }]), []);
  });
});
