import type { ActiveScenario, Reading, Scenario, Signal, VitalModel } from './types.ts';

export interface CadenceOptions {
  /** Where in its cadence this device measures, ms: devices do not all measure on the same tick. */
  phaseMs: number;
  scenario?: Scenario | undefined;
  /** When the scenario begins (simulated epoch ms); unset: at the first sample. */
  scenarioStartMs?: number | undefined;
  /** Renders a measurement time as the reading's `ts`; the fleet maps simulated to wall-clock time. */
  timestamp?: ((tMs: number) => string) | undefined;
}

/**
 * Turns a model (values as a function of time) into a device's measurement stream: the
 * model is read at the device's cadence, and the device-level scenarios are applied here
 * because they concern the device, not the physiology: signal loss silences it, a sensor
 * fault repeats the value measured when the fault began.
 */
export class CadencedSignal implements Signal {
  readonly kind;
  readonly cadenceMs;
  private lastSampleMs: number | undefined;
  private scenarioStartMs: number | undefined;
  private stuckValues: Reading[] | undefined;
  private readonly timestamp: (tMs: number) => string;

  constructor(
    private readonly model: VitalModel,
    private readonly options: CadenceOptions,
  ) {
    this.kind = model.kind;
    this.cadenceMs = model.cadenceMs;
    this.scenarioStartMs = options.scenarioStartMs;
    this.timestamp = options.timestamp ?? ((tMs) => new Date(tMs).toISOString());
  }

  sample(tMs: number): Reading[] {
    const previous = this.lastSampleMs;
    if (previous !== undefined && tMs <= previous) return [];
    this.lastSampleMs = tMs;
    if (this.options.scenario !== undefined && this.scenarioStartMs === undefined) this.scenarioStartMs = tMs;
    const latest = this.latestMeasurementAtOrBefore(tMs);
    const first =
      previous === undefined ? latest : this.latestMeasurementAtOrBefore(previous) + this.cadenceMs;
    const out: Reading[] = [];
    for (let t = first; t <= latest; t += this.cadenceMs) {
      const ts = this.timestamp(t);
      for (const r of this.measure(t)) out.push({ ...r, ts });
    }
    return out;
  }

  private latestMeasurementAtOrBefore(tMs: number): number {
    const offset = tMs - this.options.phaseMs;
    return offset - (((offset % this.cadenceMs) + this.cadenceMs) % this.cadenceMs) + this.options.phaseMs;
  }

  private measure(tMs: number): Reading[] {
    const active = this.activeScenario(tMs);
    if (active === undefined) return this.model.valuesAt(tMs, undefined);
    switch (active.name) {
      case 'signal-loss':
        return [];
      case 'sensor-fault':
        this.stuckValues ??= this.model.valuesAt(this.latestMeasurementAtOrBefore(active.startMs), undefined);
        return this.stuckValues;
      default:
        return this.model.valuesAt(tMs, active);
    }
  }

  private activeScenario(tMs: number): ActiveScenario | undefined {
    const name = this.options.scenario;
    const startMs = this.scenarioStartMs;
    if (name === undefined || startMs === undefined || tMs < startMs) return undefined;
    return { name, startMs };
  }
}
