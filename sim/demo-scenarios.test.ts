import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { demoScenarios } from './demo-scenarios.ts';
import type { DeviceKind } from './signals/types.ts';

const fleet = (kinds: DeviceKind[]) => kinds.map((kind, i) => ({ deviceId: `sim-${kind}-${i + 1}`, kind }));

describe('demo scenarios', () => {
  it('gives each scenario to one device of a fitting kind', () => {
    const kinds: DeviceKind[] = ['cgm', 'pulse-oximeter', 'bp-cuff', 'thermometer'];
    const plan = demoScenarios(fleet([...kinds, ...kinds, ...kinds]));
    assert.deepEqual(Object.fromEntries(plan), {
      'sim-cgm-1': 'hypoglycemia',
      'sim-pulse-oximeter-2': 'desaturation',
      'sim-bp-cuff-3': 'hypertensive-crisis',
      'sim-pulse-oximeter-6': 'sensor-fault',
      'sim-cgm-5': 'signal-loss',
    });
  });

  it('leaves out scenarios no device can act, and never gives one device two', () => {
    const plan = demoScenarios(fleet(['cgm', 'pulse-oximeter']));
    assert.deepEqual([...plan.values()], ['hypoglycemia', 'desaturation']);
    assert.deepEqual(demoScenarios([]).size, 0);
  });
});
