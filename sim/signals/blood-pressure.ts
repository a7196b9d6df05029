import { deriveSeed, gaussianAt, Random } from '../random.ts';
import { HeartRate } from './heart.ts';
import { circadian, clamp, HOUR_MS, hourOfDay, MINUTE_MS, slowWaves, smoothstep } from './shapes.ts';
import type { ActiveScenario, Reading, VitalModel } from './types.ts';
import { reading, VITALS } from './vital-codes.ts';

/** Where a hypertensive crisis ends up (ACC/AHA: > 180 and/or > 120 mm[Hg]). */
const CRISIS_SYSTOLIC = 190;
const CRISIS_DIASTOLIC = 125;
/** Narrower pulse pressures are not physiological in an adult at rest. */
const MIN_PULSE_PRESSURE = 20;

/**
 * An automated upper-arm cuff in ambulatory monitoring, every 15 minutes (the usual daytime
 * ABPM interval), reporting systolic, diastolic and pulse rate:
 * - a personal average of 114–126 / 74–82 mm[Hg] (around 120/78);
 * - nocturnal dipping of about 10 % (a "dipper"; lowest around 03:00);
 * - slow variation of ±4 / ±3 over hours and reading-to-reading variability of SD 5 / 4,
 *   which is what makes single cuff readings noisy;
 * - integers, as cuffs display.
 */
export class BloodPressureModel implements VitalModel {
  readonly kind = 'bp-cuff';
  readonly cadenceMs = 15 * MINUTE_MS;
  private readonly systolicMean: number;
  private readonly diastolicMean: number;
  private readonly systolicVariation: (tMs: number) => number;
  private readonly diastolicVariation: (tMs: number) => number;
  private readonly heartRate: HeartRate;

  constructor(
    private readonly seed: number,
    private readonly utcOffsetMinutes = 0,
  ) {
    const rand = new Random(deriveSeed(seed, 'blood-pressure-patient'));
    this.systolicMean = rand.range(114, 126);
    this.diastolicMean = rand.range(74, 82);
    this.systolicVariation = slowWaves(rand, 2, 4, 1 * HOUR_MS, 6 * HOUR_MS);
    this.diastolicVariation = slowWaves(rand, 2, 3, 1 * HOUR_MS, 6 * HOUR_MS);
    this.heartRate = new HeartRate(seed, utcOffsetMinutes);
  }

  valuesAt(tMs: number, scenario: ActiveScenario | undefined): Reading[] {
    const day = circadian(hourOfDay(tMs, this.utcOffsetMinutes), 15);
    let systolic = this.systolicMean + 6 * day + this.systolicVariation(tMs);
    let diastolic = this.diastolicMean + 4 * day + this.diastolicVariation(tMs);
    if (scenario?.name === 'hypertensive-crisis') {
      const reached = smoothstep((tMs - scenario.startMs) / (20 * MINUTE_MS));
      systolic = systolic * (1 - reached) + CRISIS_SYSTOLIC * reached;
      diastolic = diastolic * (1 - reached) + CRISIS_DIASTOLIC * reached;
    }
    const measuredSystolic = Math.round(
      clamp(systolic + 5 * gaussianAt(this.seed, 'systolic', tMs), 70, 250),
    );
    const measuredDiastolic = Math.round(
      clamp(
        diastolic + 4 * gaussianAt(this.seed, 'diastolic', tMs),
        40,
        measuredSystolic - MIN_PULSE_PRESSURE,
      ),
    );
    return [
      reading(VITALS.systolic, measuredSystolic),
      reading(VITALS.diastolic, measuredDiastolic),
      reading(VITALS.heartRate, this.heartRate.bpmAt(tMs, scenario)),
    ];
  }
}
