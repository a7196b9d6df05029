import { deriveSeed, gaussianAt, Random } from '../random.ts';
import { circadian, clamp, HOUR_MS, hourOfDay, MINUTE_MS, roundTo, slowWaves } from './shapes.ts';
import type { ActiveScenario, Reading, VitalModel } from './types.ts';
import { reading, VITALS } from './vital-codes.ts';

/**
 * A continuous wearable thermometer (axillary or chest patch), once a minute, °C:
 * - a personal mean of 36.8–36.95;
 * - the circadian rhythm of core temperature, ±0.2 (lowest around 05:00, highest around
 *   17:00), so a day spans about 36.6–37.2;
 * - slow variation ±0.05 and sensor noise SD 0.05; one decimal, as clinical thermometers show.
 */
export class TemperatureModel implements VitalModel {
  readonly kind = 'thermometer';
  readonly cadenceMs = MINUTE_MS;
  private readonly meanCelsius: number;
  private readonly variation: (tMs: number) => number;

  constructor(
    private readonly seed: number,
    private readonly utcOffsetMinutes = 0,
  ) {
    const rand = new Random(deriveSeed(seed, 'temperature-patient'));
    this.meanCelsius = rand.range(36.8, 36.95);
    this.variation = slowWaves(rand, 2, 0.05, 1 * HOUR_MS, 4 * HOUR_MS);
  }

  valuesAt(tMs: number, _scenario: ActiveScenario | undefined): Reading[] {
    const hour = hourOfDay(tMs, this.utcOffsetMinutes);
    const celsius = this.meanCelsius + 0.2 * circadian(hour, 17) + this.variation(tMs);
    const measured = celsius + 0.05 * gaussianAt(this.seed, 'temperature', tMs);
    return [reading(VITALS.bodyTemperature, roundTo(clamp(measured, 34, 42), 1))];
  }
}
