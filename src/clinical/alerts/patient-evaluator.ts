import { type AlertCondition, type AlertSignal, CODES } from './alert-conditions.ts';
import type { AlertRules } from './alert-rules.ts';
import { GlucoseHistory } from './glucose-trend.ts';
import { type DetectorStep, ThresholdDetector, type ThresholdSpec } from './threshold-detector.ts';

/** Physiological conditions, each one detector; blood pressure is two sides of one condition. */
type DetectorName =
  | Exclude<AlertCondition, 'blood-pressure-high' | 'signal-loss' | 'battery-low'>
  | 'systolic-high'
  | 'diastolic-high';

const GAP_TOLERANCE_MS = 30_000;
/**
 * A CGM trend arrow points down from 1 mg/dL/min (Dexcom's "slowly falling"). Below that, a
 * projection under the urgent low is as likely the sensor's noise as a trend, and waits for
 * `predictedLowConfirmMinutes` of confirmation.
 */
const FALLING_MG_DL_PER_MINUTE = 1;

function spot(direction: 'below' | 'above', threshold: number, hysteresis: number): ThresholdSpec {
  return {
    direction,
    threshold,
    hysteresis,
    sustainMs: 0,
    clearMs: 0,
    maxGapMs: Number.POSITIVE_INFINITY,
  };
}

function sustained(
  direction: 'below' | 'above',
  threshold: number,
  hysteresis: number,
  seconds: number,
): ThresholdSpec {
  const ms = seconds * 1000;
  // Symmetric in time too: an alert that took a minute to raise takes a minute to clear.
  return {
    direction,
    threshold,
    hysteresis,
    sustainMs: ms,
    clearMs: ms,
    maxGapMs: ms > 0 ? Math.max(GAP_TOLERANCE_MS, ms / 2) : Number.POSITIVE_INFINITY,
  };
}

/**
 * A glucose level raises on the first reading past the threshold (no sustain: a low is
 * treated at once) and clears only after `clearMinutes` back past the hysteresis band, so CGM
 * noise around a threshold keeps one episode open instead of raising a new alert each dip.
 * A meter read further apart than that clears on two consecutive readings in range.
 */
function glucoseLevel(
  direction: 'below' | 'above',
  threshold: number,
  hysteresis: number,
  clearMinutes: number,
): ThresholdSpec {
  const clearMs = clearMinutes * 60_000;
  return {
    ...spot(direction, threshold, hysteresis),
    clearMs,
    maxGapMs: clearMs > 0 ? clearMs : Number.POSITIVE_INFINITY,
  };
}

function specs(r: AlertRules): Record<DetectorName, ThresholdSpec> {
  const g = r.glucoseHysteresisMgDl;
  const c = r.glucoseClearMinutes;
  return {
    'glucose-urgent-low': glucoseLevel('below', r.glucoseUrgentLowMgDl, g, c),
    // A projection 20 minutes ahead of a noisy slope crosses the threshold often: it must hold
    // (until the next CGM reading) before it pages, unless glucose is clearly falling
    // (observeGlucose), and it ends like a level does.
    'glucose-predicted-urgent-low': {
      ...glucoseLevel('below', r.glucoseUrgentLowMgDl, g, c),
      sustainMs: r.predictedLowConfirmMinutes * 60_000,
    },
    'glucose-low': glucoseLevel('below', r.glucoseLowMgDl, g, c),
    'glucose-high': glucoseLevel('above', r.glucoseHighMgDl, g, c),
    // A rate alert needs 1 mg/dL/min of recovery to clear, so noise on the slope cannot flap it.
    'glucose-falling-fast': spot('below', -r.glucoseRateMgDlPerMinute, 1),
    'glucose-rising-fast': spot('above', r.glucoseRateMgDlPerMinute, 1),
    'spo2-low': sustained('below', r.spo2LowPercent, r.spo2HysteresisPercent, r.spo2SustainSeconds),
    'heart-rate-low': sustained(
      'below',
      r.heartRateLowPerMinute,
      r.heartRateHysteresisPerMinute,
      r.heartRateSustainSeconds,
    ),
    'heart-rate-high': sustained(
      'above',
      r.heartRateHighPerMinute,
      r.heartRateHysteresisPerMinute,
      r.heartRateSustainSeconds,
    ),
    'systolic-high': spot('above', r.systolicHighMmHg, r.bloodPressureHysteresisMmHg),
    'diastolic-high': spot('above', r.diastolicHighMmHg, r.bloodPressureHysteresisMmHg),
    'temperature-high': {
      ...spot('above', r.temperatureHighCel, r.temperatureHysteresisCel),
      isInclusive: true,
    },
  };
}

/**
 * The rule core for one patient: readings in, condition changes out. No I/O, no clock:
 * time is the readings' own, so a scripted trace always gives the same signals. Each
 * condition has one detector, so there is at most one raised condition per name, and a
 * raised condition is only updated (a worse value) or cleared, never raised again.
 */
export class PatientEvaluator {
  private readonly detectors: Record<DetectorName, ThresholdDetector>;
  private readonly glucose = new GlucoseHistory();
  private newestGlucoseMs = Number.NEGATIVE_INFINITY;
  private rules: AlertRules;

  constructor(rules: AlertRules) {
    this.rules = rules;
    const s = specs(rules);
    this.detectors = Object.fromEntries(
      Object.entries(s).map(([name, spec]) => [name, new ThresholdDetector(spec)]),
    ) as Record<DetectorName, ThresholdDetector>;
  }

  setRules(rules: AlertRules): void {
    this.rules = rules;
    for (const [name, spec] of Object.entries(specs(rules))) this.detectors[name as DetectorName].spec = spec;
  }

  /** Feeds one reading; appends any condition changes to `out`. Oldest readings first. */
  observe(code: string, value: number, tsMs: number, isQuestionable: boolean, out: AlertSignal[]): void {
    switch (code) {
      case CODES.glucose:
      case CODES.glucoseCgm:
        this.observeGlucose(value, tsMs, isQuestionable, out);
        return;
      case CODES.spo2:
        this.step('spo2-low', 'spo2-low', value, tsMs, isQuestionable, out);
        return;
      case CODES.heartRate:
        this.step('heart-rate-low', 'heart-rate-low', value, tsMs, isQuestionable, out);
        this.step('heart-rate-high', 'heart-rate-high', value, tsMs, isQuestionable, out);
        return;
      case CODES.temperature:
        this.step('temperature-high', 'temperature-high', value, tsMs, isQuestionable, out);
        return;
      case CODES.systolic:
        this.observePressure('systolic-high', 'diastolic-high', value, tsMs, isQuestionable, out);
        return;
      case CODES.diastolic:
        this.observePressure('diastolic-high', 'systolic-high', value, tsMs, isQuestionable, out);
        return;
    }
  }

  /** Forgets a condition resolved by hand: it must be met afresh to be raised again. */
  forget(condition: AlertCondition): void {
    if (condition === 'blood-pressure-high') {
      this.detectors['systolic-high'].reset();
      this.detectors['diastolic-high'].reset();
    } else if (condition in this.detectors) {
      this.detectors[condition as DetectorName].reset();
    }
  }

  /** Takes up an alert left unresolved at the last shutdown. */
  restore(condition: AlertCondition, worst: number): void {
    if (condition === 'blood-pressure-high') {
      // The stored alert does not say which side raised it: both are taken up, so the crisis
      // clears only once both sides are back, as before the restart.
      this.detectors['systolic-high'].restore(worst);
      this.detectors['diastolic-high'].restore(worst);
      return;
    }
    if (condition in this.detectors) this.detectors[condition as DetectorName].restore(worst);
  }

  isActive(condition: AlertCondition): boolean {
    if (condition === 'blood-pressure-high')
      return this.detectors['systolic-high'].isActive || this.detectors['diastolic-high'].isActive;
    return this.detectors[condition as DetectorName]?.isActive ?? false;
  }

  private step(
    name: DetectorName,
    condition: AlertCondition,
    value: number,
    tsMs: number,
    isQuestionable: boolean,
    out: AlertSignal[],
  ): DetectorStep {
    const detector = this.detectors[name];
    // Questionable readings are no evidence: they neither raise nor clear, and break a run.
    if (isQuestionable) {
      detector.interrupt();
      return undefined;
    }
    const step = detector.observe(value, tsMs);
    if (step === 'clear') out.push({ kind: 'clear', condition, tsMs });
    else if (step !== undefined) out.push({ kind: step, condition, value, tsMs });
    return step;
  }

  private observePressure(
    side: 'systolic-high' | 'diastolic-high',
    other: 'systolic-high' | 'diastolic-high',
    value: number,
    tsMs: number,
    isQuestionable: boolean,
    out: AlertSignal[],
  ): void {
    // One crisis, one alert: either side raises it, and it clears when both sides have.
    const wasActive = this.isActive('blood-pressure-high');
    const signals: AlertSignal[] = [];
    this.step(side, 'blood-pressure-high', value, tsMs, isQuestionable, signals);
    const otherActive = this.detectors[other].isActive;
    for (const s of signals) {
      if (s.kind === 'raise' && wasActive) out.push({ ...s, kind: 'update' });
      else if (s.kind !== 'clear' || !otherActive) out.push(s);
    }
  }

  private observeGlucose(value: number, tsMs: number, isQuestionable: boolean, out: AlertSignal[]): void {
    const r = this.rules;
    this.step('glucose-urgent-low', 'glucose-urgent-low', value, tsMs, isQuestionable, out);
    this.step('glucose-low', 'glucose-low', value, tsMs, isQuestionable, out);
    this.step('glucose-high', 'glucose-high', value, tsMs, isQuestionable, out);
    if (isQuestionable) {
      this.detectors['glucose-predicted-urgent-low'].interrupt();
      return;
    }
    const predicted = this.detectors['glucose-predicted-urgent-low'];
    if (this.detectors['glucose-urgent-low'].isActive) {
      // The urgent low itself is now raised: the prediction came true and is superseded.
      if (predicted.isActive) {
        predicted.reset();
        out.push({ kind: 'clear', condition: 'glucose-predicted-urgent-low', tsMs });
      }
    }
    // A reading older than the newest (a meter synced late beside a CGM) has had its say on the
    // levels above; the trend is a line through the readings in order, and it is not one of them.
    if (tsMs < this.newestGlucoseMs) return;
    this.newestGlucoseMs = tsMs;
    this.glucose.add(value, tsMs);
    const trend = this.glucose.trend(r.glucoseTrendWindowMinutes, r.predictedLowHorizonMinutes);
    if (trend === undefined) return;
    if (!this.detectors['glucose-urgent-low'].isActive && value >= r.glucoseUrgentLowMgDl) {
      // A clear fall warns at once: waiting for the next reading would halve the warning
      // before a fast drop (measured: 10 → 5 minutes ahead of a 2–3 mg/dL/min fall).
      const isFalling = trend.slopeMgDlPerMinute <= -FALLING_MG_DL_PER_MINUTE;
      const step = predicted.observe(trend.projectedMgDl, tsMs, isFalling ? 0 : undefined);
      if (step === 'clear') out.push({ kind: 'clear', condition: 'glucose-predicted-urgent-low', tsMs });
      else if (step !== undefined)
        out.push({ kind: step, condition: 'glucose-predicted-urgent-low', value: trend.projectedMgDl, tsMs });
    }
    this.step('glucose-falling-fast', 'glucose-falling-fast', trend.slopeMgDlPerMinute, tsMs, false, out);
    this.step('glucose-rising-fast', 'glucose-rising-fast', trend.slopeMgDlPerMinute, tsMs, false, out);
  }
}
