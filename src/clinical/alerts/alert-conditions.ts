/** What an alert is about, and how loudly it speaks. */
export const ALERT_CONDITIONS = {
  'glucose-urgent-low': { urgency: 'urgent', perDevice: false, title: 'Glucose urgently low' },
  'glucose-predicted-urgent-low': {
    urgency: 'urgent',
    perDevice: false,
    title: 'Glucose predicted urgently low soon',
  },
  'glucose-low': { urgency: 'warning', perDevice: false, title: 'Glucose low' },
  'glucose-high': { urgency: 'warning', perDevice: false, title: 'Glucose high' },
  'glucose-falling-fast': { urgency: 'warning', perDevice: false, title: 'Glucose falling fast' },
  'glucose-rising-fast': { urgency: 'warning', perDevice: false, title: 'Glucose rising fast' },
  'spo2-low': { urgency: 'urgent', perDevice: false, title: 'Oxygen saturation low' },
  'heart-rate-low': { urgency: 'urgent', perDevice: false, title: 'Heart rate low' },
  'heart-rate-high': { urgency: 'warning', perDevice: false, title: 'Heart rate high' },
  'blood-pressure-high': { urgency: 'urgent', perDevice: false, title: 'Blood pressure in crisis range' },
  'temperature-high': { urgency: 'warning', perDevice: false, title: 'Fever' },
  'signal-loss': { urgency: 'warning', perDevice: true, title: 'No readings from device' },
  'battery-low': { urgency: 'warning', perDevice: true, title: 'Device battery low' },
} as const satisfies Record<string, { urgency: Urgency; perDevice: boolean; title: string }>;

export type Urgency = 'urgent' | 'warning';
export type AlertCondition = keyof typeof ALERT_CONDITIONS;
export const CONDITION_NAMES = Object.keys(ALERT_CONDITIONS) as AlertCondition[];

export function urgencyOf(condition: AlertCondition): Urgency {
  return ALERT_CONDITIONS[condition].urgency;
}

/** Core vital-sign codes the rules read (DESIGN.md "Core vital-sign codes"). */
export const CODES = {
  heartRate: '8867-4',
  spo2: '59408-5',
  temperature: '8310-5',
  systolic: '8480-6',
  diastolic: '8462-4',
  glucose: '2339-0',
  glucoseCgm: '99504-3',
} as const;

/**
 * A change in a condition's state, as the pure rule core reports it. `deviceId` is set for
 * per-device conditions (signal loss, battery); physiological ones are per patient.
 */
export type AlertSignal =
  | { kind: 'raise'; condition: AlertCondition; deviceId?: string; value: number; tsMs: number }
  | { kind: 'update'; condition: AlertCondition; deviceId?: string; value: number; tsMs: number }
  | { kind: 'clear'; condition: AlertCondition; deviceId?: string; tsMs: number };
