import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { VigilError } from '../../errors/catalogue.ts';

/**
 * Alert thresholds and timings with defaults from clinical practice; an administrator may
 * override any of them per patient. Units are in the names. Sources for the defaults:
 * - glucose: ADA Standards of Care (level 1 hypoglycaemia < 70, level 2 < 54 mg/dL; > 250
 *   is the usual CGM "high" alarm; a treated low is rechecked after 15 minutes, so a glucose
 *   episode ends only after 15 minutes back in range); Dexcom's "urgent low soon" looks 20 min
 *   ahead;
 * - SpO2 < 90 % and HR < 40 / > 130: common ward early-warning limits, with a delay so
 *   motion artefacts and brief dips (a cough, a breath-hold) do not page anyone;
 * - blood pressure > 180 systolic or > 120 diastolic: hypertensive crisis (ACC/AHA 2017);
 * - temperature >= 38.3 °C: fever as IDSA defines it for hospitalised patients (inclusive).
 */
export const AlertRulesSchema = Type.Object(
  {
    glucoseUrgentLowMgDl: Type.Number({ minimum: 30, maximum: 80 }),
    glucoseLowMgDl: Type.Number({ minimum: 40, maximum: 120 }),
    glucoseHighMgDl: Type.Number({ minimum: 120, maximum: 500 }),
    glucoseHysteresisMgDl: Type.Number({ minimum: 0, maximum: 30 }),
    /**
     * How long glucose must stay back past the hysteresis band before a glucose alert clears,
     * so sensor noise around a threshold keeps one episode open instead of paging again.
     */
    glucoseClearMinutes: Type.Number({ minimum: 0, maximum: 60 }),
    /** How far ahead the CGM trend is projected for the predicted urgent low. */
    predictedLowHorizonMinutes: Type.Number({ minimum: 5, maximum: 60 }),
    /**
     * How long the projection must stay below the urgent low before it is raised. Just under a
     * CGM's 5-minute interval, so there the next reading confirms it: a projection of a noisy
     * slope dips below on its own many times a day.
     */
    predictedLowConfirmMinutes: Type.Number({ minimum: 0, maximum: 30 }),
    /** How far back readings feed the trend (linear regression). */
    glucoseTrendWindowMinutes: Type.Number({ minimum: 10, maximum: 60 }),
    glucoseRateMgDlPerMinute: Type.Number({ minimum: 1, maximum: 10 }),
    spo2LowPercent: Type.Number({ minimum: 70, maximum: 98 }),
    spo2SustainSeconds: Type.Number({ minimum: 0, maximum: 600 }),
    spo2HysteresisPercent: Type.Number({ minimum: 0, maximum: 10 }),
    heartRateLowPerMinute: Type.Number({ minimum: 20, maximum: 80 }),
    heartRateHighPerMinute: Type.Number({ minimum: 90, maximum: 250 }),
    heartRateSustainSeconds: Type.Number({ minimum: 0, maximum: 600 }),
    heartRateHysteresisPerMinute: Type.Number({ minimum: 0, maximum: 30 }),
    systolicHighMmHg: Type.Number({ minimum: 120, maximum: 260 }),
    diastolicHighMmHg: Type.Number({ minimum: 70, maximum: 160 }),
    bloodPressureHysteresisMmHg: Type.Number({ minimum: 0, maximum: 30 }),
    temperatureHighCel: Type.Number({ minimum: 37, maximum: 41 }),
    temperatureHysteresisCel: Type.Number({ minimum: 0, maximum: 2 }),
    signalLossMinutes: Type.Number({ minimum: 1, maximum: 1440 }),
    batteryLowPercent: Type.Number({ minimum: 1, maximum: 50 }),
    /** An urgent alert not acknowledged for this long goes to the next care-team member. */
    escalateAfterMinutes: Type.Number({ minimum: 1, maximum: 120 }),
    /** The longest a single snooze may last. */
    maxSnoozeMinutes: Type.Number({ minimum: 1, maximum: 240 }),
    /**
     * An urgent alert acknowledged or snoozed and still unresolved this long after is put back
     * in front of the care team: an acknowledged low that keeps falling must not stay silent.
     */
    urgentRealertMinutes: Type.Number({ minimum: 5, maximum: 240 }),
  },
  { additionalProperties: false },
);
export type AlertRules = Static<typeof AlertRulesSchema>;
export const AlertRuleOverridesSchema = Type.Partial(AlertRulesSchema, { additionalProperties: false });
export type AlertRuleOverrides = Partial<AlertRules>;

export const DEFAULT_ALERT_RULES: Readonly<AlertRules> = Object.freeze({
  glucoseUrgentLowMgDl: 54,
  glucoseLowMgDl: 70,
  glucoseHighMgDl: 250,
  glucoseHysteresisMgDl: 5,
  // The "rule of 15" (ADA): a treated low is checked again after 15 minutes.
  glucoseClearMinutes: 15,
  predictedLowHorizonMinutes: 20,
  predictedLowConfirmMinutes: 4,
  glucoseTrendWindowMinutes: 20,
  glucoseRateMgDlPerMinute: 3,
  spo2LowPercent: 90,
  spo2SustainSeconds: 60,
  spo2HysteresisPercent: 2,
  heartRateLowPerMinute: 40,
  heartRateHighPerMinute: 130,
  heartRateSustainSeconds: 60,
  heartRateHysteresisPerMinute: 5,
  systolicHighMmHg: 180,
  diastolicHighMmHg: 120,
  bloodPressureHysteresisMmHg: 10,
  temperatureHighCel: 38.3,
  temperatureHysteresisCel: 0.3,
  // Dexcom's signal-loss alert defaults to 20 minutes: four missed CGM readings.
  signalLossMinutes: 20,
  batteryLowPercent: 15,
  escalateAfterMinutes: 10,
  maxSnoozeMinutes: 60,
  urgentRealertMinutes: 30,
});

/**
 * Checks an administrator's overrides (from JSON) and returns them with the rules they make.
 * Refuses unknown keys, non-numbers, values out of range and orderings that make no clinical
 * sense (an urgent-low threshold above the low threshold), naming the field.
 */
export function parseRuleOverrides(input: unknown): { overrides: AlertRuleOverrides; rules: AlertRules } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'alert rule overrides must be a JSON object');
  }
  const first = Value.Errors(AlertRuleOverridesSchema, input).First();
  if (first) {
    const field = first.path.replace(/^\//, '') || 'overrides';
    const known = field in AlertRulesSchema.properties;
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      known
        ? `alert rule ${field}: ${first.message}`
        : `alert rule "${field.slice(0, 40)}" is unknown; known rules: ${Object.keys(AlertRulesSchema.properties).join(', ')}`,
    );
  }
  const overrides = { ...(input as AlertRuleOverrides) };
  const rules = effectiveRules(overrides);
  if (!(rules.glucoseUrgentLowMgDl < rules.glucoseLowMgDl && rules.glucoseLowMgDl < rules.glucoseHighMgDl)) {
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `glucose thresholds must rise: urgent low ${rules.glucoseUrgentLowMgDl} < low ${rules.glucoseLowMgDl} < high ${rules.glucoseHighMgDl} mg/dL`,
    );
  }
  if (rules.heartRateLowPerMinute >= rules.heartRateHighPerMinute) {
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `heart rate low ${rules.heartRateLowPerMinute} must be below high ${rules.heartRateHighPerMinute} /min`,
    );
  }
  return { overrides, rules };
}

export function effectiveRules(overrides: AlertRuleOverrides | undefined): AlertRules {
  return { ...DEFAULT_ALERT_RULES, ...overrides };
}
