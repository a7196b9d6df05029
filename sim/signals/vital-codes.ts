import type { Reading } from './types.ts';

/** The core vital signs the simulator emits: LOINC code and UCUM unit, as in DESIGN.md. */
export const VITALS = {
  heartRate: { code: '8867-4', unit: '/min' },
  spo2: { code: '59408-5', unit: '%' },
  glucose: { code: '2339-0', unit: 'mg/dL' },
  systolic: { code: '8480-6', unit: 'mm[Hg]' },
  diastolic: { code: '8462-4', unit: 'mm[Hg]' },
  bodyTemperature: { code: '8310-5', unit: 'Cel' },
} as const;

export type Vital = (typeof VITALS)[keyof typeof VITALS];

export function reading(vital: Vital, value: number): Reading {
  return { code: vital.code, value, unit: vital.unit };
}
