/** The core vital signs (LOINC codes, canonical UCUM units) as the dashboard names them. */
export interface VitalInfo {
  label: string;
  unit: string;
  decimals: number;
}

export const VITALS: Readonly<Record<string, VitalInfo>> = {
  '8867-4': { label: 'Heart rate', unit: '/min', decimals: 0 },
  '59408-5': { label: 'SpO₂', unit: '%', decimals: 0 },
  '9279-1': { label: 'Respiratory rate', unit: '/min', decimals: 0 },
  '8310-5': { label: 'Temperature', unit: '°C', decimals: 1 },
  '8480-6': { label: 'Systolic BP', unit: 'mmHg', decimals: 0 },
  '8462-4': { label: 'Diastolic BP', unit: 'mmHg', decimals: 0 },
  '2339-0': { label: 'Glucose', unit: 'mg/dL', decimals: 0 },
  '99504-3': { label: 'Glucose (CGM)', unit: 'mg/dL', decimals: 0 },
  '29463-7': { label: 'Weight', unit: 'kg', decimals: 1 },
};

/** A code the dashboard does not know is still shown, under its LOINC code. */
export function vitalInfo(code: string, unit = ''): VitalInfo {
  return VITALS[code] ?? { label: `LOINC ${code}`, unit, decimals: 2 };
}

export function formatValue(code: string, value: number): string {
  return value.toFixed(vitalInfo(code).decimals);
}

export interface Threshold {
  value: number;
  label: string;
  /** `urgent` lines are drawn solid, `warning` lines dashed (shape, not only colour). */
  level: 'urgent' | 'warning';
}

/** The effective alert rules of GET /api/v1/patients/{id}/alert-rules (the fields used here). */
export type AlertRules = Partial<Record<string, number>>;

const line = (rules: AlertRules, key: string, label: string, level: Threshold['level']): Threshold[] => {
  const value = rules[key];
  return typeof value === 'number' ? [{ value, label, level }] : [];
};

/** The alert thresholds that apply to one vital, to draw on its chart. */
export function thresholdsFor(code: string, rules: AlertRules | undefined): Threshold[] {
  if (!rules) return [];
  switch (code) {
    case '8867-4':
      return [
        ...line(rules, 'heartRateLowPerMinute', 'low', 'urgent'),
        ...line(rules, 'heartRateHighPerMinute', 'high', 'urgent'),
      ];
    case '59408-5':
      return line(rules, 'spo2LowPercent', 'low', 'urgent');
    case '2339-0':
    case '99504-3':
      return [
        ...line(rules, 'glucoseUrgentLowMgDl', 'urgent low', 'urgent'),
        ...line(rules, 'glucoseLowMgDl', 'low', 'warning'),
        ...line(rules, 'glucoseHighMgDl', 'high', 'warning'),
      ];
    case '8480-6':
      return line(rules, 'systolicHighMmHg', 'high', 'urgent');
    case '8462-4':
      return line(rules, 'diastolicHighMmHg', 'high', 'urgent');
    case '8310-5':
      return line(rules, 'temperatureHighCel', 'fever', 'warning');
    default:
      return [];
  }
}

/** Where a value sits against its thresholds, for a status chip. */
export function valueStatus(
  code: string,
  value: number,
  rules: AlertRules | undefined,
): 'normal' | 'low' | 'high' | 'unknown' {
  const lines = thresholdsFor(code, rules);
  if (lines.length === 0) return 'unknown';
  for (const t of lines) {
    const isLowLine = t.label.includes('low');
    if (isLowLine && value < t.value) return 'low';
    if (!isLowLine && value > t.value) return 'high';
  }
  return 'normal';
}
