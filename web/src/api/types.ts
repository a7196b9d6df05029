/** Shapes of the Vigil HTTP API answers the dashboard reads (see GET /docs). */
export interface Me {
  id: string;
  username: string;
  role: string;
  stage: 'setup' | 'full' | string;
  mustChangePassword: boolean;
  totpEnrolled: boolean;
  recoveryCodesLeft: number;
  csrfToken: string;
}

export interface LoginAnswer {
  mfaRequired: boolean;
  ticket: string | null;
  expiresAt: string;
  stage?: 'setup';
  csrfToken?: string;
}

export interface SessionAnswer {
  stage: 'setup' | 'full';
  csrfToken: string;
  expiresAt: string;
}

/**
 * One item of GET /api/v1/patients. `name` and `birthDate` (FHIR date, "1950-03-02") come
 * when the server knows them; screens fall back to the id.
 */
export interface PatientSummary {
  id: string;
  name?: string;
  birthDate?: string;
  /**
   * How the caller sees the patient: `break-glass` is their own emergency access, which ends at
   * `accessExpires`. Optional here: an older server does not send it.
   */
  access?: 'care-team' | 'break-glass' | 'integration' | 'administration';
  accessExpires?: string;
}

export interface Observation {
  code: string;
  value: number;
  unit: string;
  effective: string;
  device: string;
}

export interface Series {
  code: string;
  unit: string;
  readings: number;
  points: SeriesPoint[];
}

/** `questionable`: the data-quality rules judged this reading doubtful (jump, flat line, device clock). */
export interface SeriesPoint {
  effective: string;
  value: number;
  questionable?: boolean;
}

export interface Alert {
  id: string;
  patient: string;
  condition: string;
  title: string;
  device: string | null;
  urgency: 'urgent' | 'warning' | string;
  state: 'open' | 'acknowledged' | 'resolved' | string;
  value: number;
  opened: string;
  acknowledgedBy: string | null;
  snoozedUntil: string | null;
}

export interface Device {
  id: string;
  model: string;
  serial: string;
  status: string;
  patientId: string | null;
  firmware: string | null;
  battery: number | null;
  lastSeen: string | null;
  certificateExpires: string | null;
  enrolled: boolean;
  quarantineReason: string | null;
}

export interface SecurityEvent {
  id: number;
  ts: string;
  code: string;
  severity: string;
  detail: string;
  deviceId?: string | null;
  remoteAddress?: string | null;
}

export interface DataQualityNotice {
  id: number;
  device: string;
  /** null for administrators and security officers, who see devices but no patient data. */
  patient: string | null;
  issue: 'implausible-jump' | 'flat-line' | 'clock-skew' | string;
  first: string;
  last: string;
  questionableReadings: number;
  cleared: string | null;
}
