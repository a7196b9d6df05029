import { deriveSeed, Random } from '../random.ts';
import { BloodPressureModel } from './blood-pressure.ts';
import { CadencedSignal } from './cadenced-signal.ts';
import { GlucoseModel } from './glucose.ts';
import { PulseOximeterModel } from './heart.ts';
import { TemperatureModel } from './temperature.ts';
import type { DeviceKind, Scenario, Signal, VitalModel } from './types.ts';

export interface SignalOptions {
  scenario?: Scenario | undefined;
  /** When the scenario begins (simulated epoch ms); unset: at the first sample. */
  scenarioStartMs?: number | undefined;
  /** The patient's offset from UTC: meals and sleep follow local time. Default 0. */
  utcOffsetMinutes?: number | undefined;
  /** Renders a measurement time as a reading's `ts`. Default: ISO 8601 of that instant. */
  timestamp?: ((tMs: number) => string) | undefined;
}

/** The simulated physiology of one device worn by one patient; the seed makes the patient. */
export function createSignal(kind: DeviceKind, seed: number, options: SignalOptions = {}): Signal {
  const model = createModel(kind, seed, options.utcOffsetMinutes ?? 0);
  const phaseMs = Math.floor(new Random(deriveSeed(seed, 'phase')).range(0, model.cadenceMs));
  return new CadencedSignal(model, {
    phaseMs,
    scenario: options.scenario,
    scenarioStartMs: options.scenarioStartMs,
    timestamp: options.timestamp,
  });
}

export function createModel(kind: DeviceKind, seed: number, utcOffsetMinutes = 0): VitalModel {
  switch (kind) {
    case 'cgm':
      return new GlucoseModel(seed, utcOffsetMinutes);
    case 'pulse-oximeter':
      return new PulseOximeterModel(seed, utcOffsetMinutes);
    case 'bp-cuff':
      return new BloodPressureModel(seed, utcOffsetMinutes);
    case 'thermometer':
      return new TemperatureModel(seed, utcOffsetMinutes);
  }
}
