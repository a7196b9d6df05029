import { useQuery } from '@tanstack/react-query';
import { api } from './client.ts';

/**
 * The posture API's answers (src/posture/assessment.ts, GET /api/v1/posture/devices[/:id]),
 * reduced to what the dashboard shows. Posture is computed on the server from the registry,
 * SBOMs and advisories; the dashboard only reads it (posture:read: security and admin).
 */
export type RiskBand = 'critical' | 'high' | 'medium' | 'low';

export interface RiskPart {
  factor: string;
  points: number;
  why: string;
}

export interface RiskScore {
  score: number;
  band: RiskBand;
  parts: RiskPart[];
  multiplier: { value: number; why: string };
}

export interface PostureFinding {
  vulnerability: string;
  advisoryId: string;
  summary: string;
  component: string;
  installedVersion: string;
  fixedVersion: string | null;
  fixFirmware: string | null;
  status: 'not_affected' | 'fixed' | 'under_investigation' | 'affected';
  statusReason: string | null;
  cvss: { version: string; base: number; vector: string } | null;
  kev: boolean;
  epss: number | null;
  risk: RiskScore | null;
}

export interface SupportStatus {
  state:
    | 'unknown'
    | 'supported'
    | 'ends-within-180-days'
    | 'ends-within-90-days'
    | 'ends-within-30-days'
    | 'legacy';
  daysLeft: number | null;
}

export interface DevicePosture {
  id: string;
  model: string;
  serial: string;
  status: string;
  firmware: string | null;
  manufacturer: string | null;
  criticality: string | null;
  zone: string;
  connection: 'mtls' | 'legacy';
  internetReachable: boolean;
  support: SupportStatus;
  hasSbom: boolean;
  risk: RiskScore;
  findings: PostureFinding[];
  suppressed: PostureFinding[];
  warnings: string[];
  recommendation: { action: string; steps: string[] };
}

const POSTURE_REFRESH_MS = 60_000;

export function usePostureDevices(enabled = true) {
  return useQuery({
    queryKey: ['posture', 'devices'],
    queryFn: () => api<{ generatedAt: string; devices: DevicePosture[] }>('/api/v1/posture/devices'),
    // Posture changes with firmware reports and imports, not second by second.
    refetchInterval: POSTURE_REFRESH_MS,
    enabled,
  });
}

export function useDevicePosture(id: string) {
  return useQuery({
    queryKey: ['posture', 'device', id],
    queryFn: () => api<DevicePosture>(`/api/v1/posture/devices/${encodeURIComponent(id)}`),
    refetchInterval: POSTURE_REFRESH_MS,
  });
}
