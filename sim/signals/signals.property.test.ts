import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createSignal } from './create-signal.ts';
import { SECOND_MS } from './shapes.ts';
import { DEVICE_KINDS, type Reading, SCENARIOS } from './types.ts';
import { VITALS } from './vital-codes.ts';

/** Ranges a clinician would accept from a live patient (and the devices can report). */
const PLAUSIBLE: Record<string, { unit: string; min: number; max: number; decimals: number }> = {
  [VITALS.glucose.code]: { unit: 'mg/dL', min: 40, max: 400, decimals: 0 },
  [VITALS.heartRate.code]: { unit: '/min', min: 40, max: 180, decimals: 0 },
  [VITALS.spo2.code]: { unit: '%', min: 70, max: 100, decimals: 0 },
  [VITALS.systolic.code]: { unit: 'mm[Hg]', min: 70, max: 250, decimals: 0 },
  [VITALS.diastolic.code]: { unit: 'mm[Hg]', min: 40, max: 150, decimals: 0 },
  [VITALS.bodyTemperature.code]: { unit: 'Cel', min: 34, max: 42, decimals: 1 },
};

function isPlausible(r: Reading): boolean {
  const range = PLAUSIBLE[r.code];
  if (range === undefined || r.unit !== range.unit) return false;
  const scale = 10 ** range.decimals;
  return r.value >= range.min && r.value <= range.max && Math.round(r.value * scale) === r.value * scale;
}

describe('every simulated patient', () => {
  it('produces plausible values, codes and units for 1000 samples from any seed, start and scenario', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...DEVICE_KINDS),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2040, 0, 1) }),
        fc.option(fc.constantFrom(...SCENARIOS), { nil: undefined }),
        fc.double({ min: 0.5, max: 3, noNaN: true }),
        (kind, seed, startMs, scenario, cadences) => {
          const signal = createSignal(kind, seed, { scenario, scenarioStartMs: startMs + 100 * SECOND_MS });
          // Sampled at half to three times the device's cadence: a sample may hold 0–3 measurements.
          const stepMs = cadences * signal.cadenceMs;
          for (let i = 0; i < 1000; i++) {
            for (const r of signal.sample(startMs + i * stepMs)) {
              assert.ok(isPlausible(r), `${kind} seed ${seed}: ${JSON.stringify(r)}`);
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
