import type { Device } from './types.ts';

/** Shapes of the administration API answers (users, care teams, consent, devices, audit; see GET /docs). */
export interface UserView {
  id: string;
  username: string;
  role: string;
  mustChangePassword: boolean;
  totpEnrolled: boolean;
  disabled: boolean;
  createdAt: string;
  passwordChangedAt: string;
  /** Where alert e-mails go, if the user gave one. */
  email?: string;
}

export interface CareTeam {
  id: string;
  name: string;
  members: string[];
  patients: string[];
}

export interface ConsentRecord {
  id: string;
  decision: 'permit' | 'deny';
  purposes: string[];
  categories: string[];
  start: string;
  end: string | null;
  status: 'active' | 'revoked' | string;
  recorded: string;
}

export interface EnrollmentToken {
  token: string;
  expires: string;
}

export interface DeviceCertificate {
  serial: string;
  fingerprint: string;
  notBefore: string;
  notAfter: string;
  issued: string;
  revoked: string | null;
  revokeReason: string | null;
}

export interface DeviceDetail {
  device: Device;
  certificates: DeviceCertificate[];
  connected: boolean;
}

export interface AuditEntry {
  seq: number;
  time: string;
  actor: string;
  action: string;
  patient: string | null;
  resource: string;
  purpose: string | null;
  outcome: string;
  source: string | null;
  hash: string;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  patient?: string;
  from?: string;
  to?: string;
}

export interface AuditVerifyReport {
  intact: boolean;
  entries: number;
  brokenAt: number | null;
  problems: Array<{ kind: string; at: number; detail: string }>;
  checkpoints: number;
  lastCheckpoint: { id: number; auditSeq: number; time: string } | null;
  unsignedTail: number;
}
