import type { DeviceKind, Scenario } from './signals/types.ts';

/**
 * Which simulated device acts out which scenario in `vigil demo`, so a fresh demo shows every
 * kind of alert without flooding the screen: one device per scenario, the rest stay healthy.
 * Listed roughly by how soon the alert appears at real time:
 * - sensor-fault on the second oximeter: flagged questionable within a minute;
 * - desaturation on the first oximeter: SpO2 low after about 4 minutes;
 * - signal-loss on the second CGM (or the first thermometer): after the patient's
 *   signalLossMinutes (the demo sets 2 for that patient);
 * - hypertensive-crisis on the first cuff: at its next 15-minute measurement or the one after;
 * - hypoglycemia on the first CGM: predicted urgent low after about 20 minutes, then the low.
 */
export function demoScenarios(
  devices: ReadonlyArray<{ deviceId: string; kind: DeviceKind }>,
): Map<string, Scenario> {
  const byKind = (kind: DeviceKind) => devices.filter((d) => d.kind === kind).map((d) => d.deviceId);
  const cgms = byKind('cgm');
  const oximeters = byKind('pulse-oximeter');
  const wanted: Array<[string | undefined, Scenario]> = [
    [cgms[0], 'hypoglycemia'],
    [oximeters[0], 'desaturation'],
    [byKind('bp-cuff')[0], 'hypertensive-crisis'],
    [oximeters[1], 'sensor-fault'],
    [cgms[1] ?? byKind('thermometer')[0], 'signal-loss'],
  ];
  const out = new Map<string, Scenario>();
  for (const [deviceId, scenario] of wanted)
    if (deviceId !== undefined && !out.has(deviceId)) out.set(deviceId, scenario);
  return out;
}
