/** The device kinds the simulator can play, named as `vigil sim` and the fleet take them. */
export type DeviceKind = 'cgm' | 'pulse-oximeter' | 'bp-cuff' | 'thermometer';
export const DEVICE_KINDS: readonly DeviceKind[] = ['cgm', 'pulse-oximeter', 'bp-cuff', 'thermometer'];

/**
 * Clinical or technical events a run can act out, to exercise alerting and detection:
 * - hypoglycemia: CGM glucose falls to about 45–50 mg/dL over 30–40 min (level 2, < 54);
 * - desaturation: SpO2 falls to a sustained ~85 % within a few minutes, heart rate rises;
 * - hypertensive-crisis: blood pressure climbs to about 190/125 mm[Hg] over 20 min;
 * - signal-loss: the device stops sending readings (probe off, sensor detached);
 * - sensor-fault: every value is stuck at the last one measured before the fault.
 * A scenario that does not concern a kind (hypoglycemia on a thermometer) leaves it alone.
 */
export type Scenario =
  | 'hypoglycemia'
  | 'desaturation'
  | 'hypertensive-crisis'
  | 'signal-loss'
  | 'sensor-fault';
export const SCENARIOS: readonly Scenario[] = [
  'hypoglycemia',
  'desaturation',
  'hypertensive-crisis',
  'signal-loss',
  'sensor-fault',
];

/** One reading as the device protocol carries it: LOINC code, UCUM unit, optional own time. */
export interface Reading {
  code: string;
  value: number;
  unit: string;
  ts?: string;
}

/** A scenario under way since `startMs` (simulated epoch ms). */
export interface ActiveScenario {
  name: Scenario;
  startMs: number;
}

/**
 * The physiology of one device kind: its values as a pure function of time (and seed), with
 * no notion of when a measurement is due. Noise included, so a value at a time never changes.
 */
export interface VitalModel {
  readonly kind: DeviceKind;
  /** How often the device measures, in simulated ms. */
  readonly cadenceMs: number;
  valuesAt(tMs: number, scenario: ActiveScenario | undefined): Reading[];
}

/** A device's measurement stream: what it has measured since it was last asked. */
export interface Signal {
  readonly kind: DeviceKind;
  readonly cadenceMs: number;
  /**
   * The readings measured after the previous call and up to `tMs` (simulated epoch ms),
   * oldest first, each with its own `ts`. The first call returns the latest measurement, so
   * a device has something to say as soon as it connects. Time going backwards yields [].
   */
  sample(tMs: number): Reading[];
}
