import { deriveSeed, gaussianAt, Random } from '../random.ts';
import {
  clamp,
  clockBump,
  HOUR_MS,
  hourOfDay,
  localDayIndex,
  localDayStartMs,
  MINUTE_MS,
  slowWaves,
  smoothstep,
} from './shapes.ts';
import type { ActiveScenario, Reading, VitalModel } from './types.ts';
import { reading, VITALS } from './vital-codes.ts';

/** A meal's glucose excursion: a rise to a peak, then a slower return to baseline. */
export interface Meal {
  startMs: number;
  riseMgDl: number;
  riseMs: number;
  returnMs: number;
}

/**
 * Mealtime windows (local hours): a typical three-meal day. Each day draws a time in each
 * window, so the peaks move from day to day as they do in real CGM traces.
 */
const MEAL_WINDOWS_HOURS: readonly (readonly [number, number])[] = [
  [6.5, 8], // breakfast
  [11.75, 13.25], // lunch
  [18, 19.5], // dinner
];

/** Dexcom and Libre report 40–400 mg/dL; beyond that they show LOW / HIGH, not a number. */
export const CGM_MIN_MGDL = 40;
export const CGM_MAX_MGDL = 400;

/**
 * Interstitial glucose of a person without diabetes or with well-controlled diabetes, as a
 * CGM (every 5 minutes) reports it:
 * - a personal fasting baseline of 100–120 mg/dL;
 * - meals: +40–80 mg/dL reached 45–60 min after eating, back to baseline 2–3 h later;
 * - a nocturnal dip (lowest around 03:00, insulin sensitivity is highest at night), then a
 *   small dawn rise before waking (cortisol and growth hormone: the dawn phenomenon);
 * - sensor drift of a few mg/dL over a day, which is why CGMs are calibrated or factory-coded;
 * - measurement noise with SD 2.5 mg/dL (about ±5 mg/dL at 2 SD), integers as CGMs report.
 */
export class GlucoseModel implements VitalModel {
  readonly kind = 'cgm';
  readonly cadenceMs = 5 * MINUTE_MS;
  private readonly baselineMgDl: number;
  private readonly sensorDrift: (tMs: number) => number;
  private readonly physiologicalVariation: (tMs: number) => number;
  /** Level 2 hypoglycemia (< 54 mg/dL, ADA) is where the scenario ends up. */
  private readonly hypoNadirMgDl: number;
  private readonly hypoFallMs: number;

  constructor(
    private readonly seed: number,
    private readonly utcOffsetMinutes = 0,
  ) {
    const rand = new Random(deriveSeed(seed, 'glucose-patient'));
    this.baselineMgDl = rand.range(100, 120);
    this.sensorDrift = slowWaves(rand, 2, 6, 12 * HOUR_MS, 48 * HOUR_MS);
    this.physiologicalVariation = slowWaves(rand, 3, 4, 40 * MINUTE_MS, 120 * MINUTE_MS);
    this.hypoNadirMgDl = rand.range(45, 50);
    this.hypoFallMs = rand.range(30, 40) * MINUTE_MS;
  }

  valuesAt(tMs: number, scenario: ActiveScenario | undefined): Reading[] {
    let glucose = this.trueGlucoseMgDl(tMs);
    if (scenario?.name === 'hypoglycemia') {
      // Untreated fall, e.g. too much insulin: a smooth descent to the nadir, then it stays there.
      const reached = smoothstep((tMs - scenario.startMs) / this.hypoFallMs);
      glucose = glucose * (1 - reached) + this.hypoNadirMgDl * reached;
    }
    const measured = glucose + 2.5 * gaussianAt(this.seed, 'glucose', tMs);
    return [reading(VITALS.glucose, Math.round(clamp(measured, CGM_MIN_MGDL, CGM_MAX_MGDL)))];
  }

  /** Glucose without measurement noise or scenario, mg/dL. */
  trueGlucoseMgDl(tMs: number): number {
    const hour = hourOfDay(tMs, this.utcOffsetMinutes);
    const nocturnalDip = -10 * clockBump(hour, 3, 3);
    const dawnRise = 6 * clockBump(hour, 6.5, 1.5);
    let meals = 0;
    const today = localDayIndex(tMs, this.utcOffsetMinutes);
    // Yesterday's dinner can still be on its way down after midnight.
    for (const day of [today - 1, today]) {
      for (const meal of this.mealsOn(day)) meals += mealExcursionMgDl(meal, tMs);
    }
    return (
      this.baselineMgDl +
      this.sensorDrift(tMs) +
      this.physiologicalVariation(tMs) +
      nocturnalDip +
      dawnRise +
      meals
    );
  }

  /** The meals of local day `day`, the same for a given seed whenever asked. */
  mealsOn(day: number): Meal[] {
    const rand = new Random(deriveSeed(this.seed, 'meals', day));
    const dayStartMs = localDayStartMs(day, this.utcOffsetMinutes);
    return MEAL_WINDOWS_HOURS.map(([from, to]) => ({
      startMs: dayStartMs + rand.range(from, to) * HOUR_MS,
      riseMgDl: rand.range(40, 80),
      riseMs: rand.range(45, 60) * MINUTE_MS,
      returnMs: rand.range(120, 180) * MINUTE_MS,
    }));
  }
}

/** Raised-cosine rise to the peak and raised-cosine return: no kinks a clinician would frown at. */
export function mealExcursionMgDl(meal: Meal, tMs: number): number {
  const sinceMeal = tMs - meal.startMs;
  if (sinceMeal <= 0) return 0;
  if (sinceMeal < meal.riseMs)
    return (meal.riseMgDl * (1 - Math.cos((Math.PI * sinceMeal) / meal.riseMs))) / 2;
  const sincePeak = sinceMeal - meal.riseMs;
  if (sincePeak < meal.returnMs)
    return (meal.riseMgDl * (1 + Math.cos((Math.PI * sincePeak) / meal.returnMs))) / 2;
  return 0;
}
