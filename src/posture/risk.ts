/**
 * The explainable risk score (0-100), documented in src/posture/README.md. Every score is a
 * sum of named parts, each with its points and the reason, times the model's clinical
 * criticality; nothing is hidden in a weight the report does not show.
 */
import type { CvssResult } from './cvss.ts';
import type { SupportStatus } from './end-of-support.ts';
import type { ConnectionSecurity, Criticality, EpssScore, KevEntry, NetworkZone } from './types.ts';

export interface RiskPart {
  factor:
    | 'severity'
    | 'exploitation'
    | 'exposure'
    | 'authentication'
    | 'end-of-support'
    | 'patch'
    | 'certificate'
    | 'findings';
  points: number;
  why: string;
}

export type Band = 'critical' | 'high' | 'medium' | 'low';

export interface RiskScore {
  score: number;
  band: Band;
  parts: RiskPart[];
  multiplier: { value: number; why: string };
}

export interface Exposure {
  zone: NetworkZone;
  connection: ConnectionSecurity;
  internetReachable: boolean;
  support: SupportStatus;
  criticality: Criticality | null;
}

const ZONE_POINTS: Record<NetworkZone, number> = {
  isolated: 0,
  clinical: 4,
  enterprise: 8,
  guest: 12,
  internet: 15,
  unknown: 8,
};
const CRITICALITY: Record<Criticality, number> = {
  'life-sustaining': 1.3,
  therapeutic: 1.2,
  diagnostic: 1.1,
  monitoring: 1.0,
  wellness: 0.8,
};
const SUPPORT_POINTS: Record<SupportStatus['state'], number> = {
  unknown: 0,
  supported: 0,
  'ends-within-180-days': 2,
  'ends-within-90-days': 4,
  'ends-within-30-days': 6,
  legacy: 10,
};

export function bandOf(score: number): Band {
  return score >= 80 ? 'critical' : score >= 60 ? 'high' : score >= 35 ? 'medium' : 'low';
}

function multiplierOf(c: Criticality | null): RiskScore['multiplier'] {
  if (c === null) return { value: 1.1, why: 'model not in the inventory: treated as diagnostic (x1.1)' };
  return { value: CRITICALITY[c], why: `${c} device (x${CRITICALITY[c]})` };
}

function total(parts: RiskPart[], multiplier: RiskScore['multiplier']): RiskScore {
  const sum = parts.reduce((s, p) => s + p.points, 0);
  const score = Math.min(100, Math.round(sum * multiplier.value));
  return { score, band: bandOf(score), parts, multiplier };
}

/** Parts that belong to the device, not to one vulnerability. */
export function exposureParts(e: Exposure): RiskPart[] {
  const parts: RiskPart[] = [
    {
      factor: 'exposure',
      points: ZONE_POINTS[e.zone],
      why:
        e.zone === 'unknown'
          ? 'network zone not recorded: assumed enterprise network'
          : `in the ${e.zone} network zone`,
    },
  ];
  if (e.internetReachable) parts.push({ factor: 'exposure', points: 10, why: 'reachable from the internet' });
  if (e.connection === 'legacy') {
    parts.push({
      factor: 'authentication',
      points: 5,
      why: 'legacy per-device secret instead of an mTLS certificate',
    });
  }
  const s = SUPPORT_POINTS[e.support.state];
  if (s > 0) {
    parts.push({
      factor: 'end-of-support',
      points: s,
      why:
        e.support.state === 'legacy'
          ? `legacy: out of manufacturer support for ${-(e.support.daysLeft ?? 0)} days`
          : `manufacturer support ends in ${e.support.daysLeft} days`,
    });
  }
  return parts;
}

export interface FindingRiskInput {
  cvss: CvssResult | null;
  statedSeverity: number | null;
  kev: KevEntry | undefined;
  epss: EpssScore | undefined;
  fixAvailable: boolean;
}

export function findingRisk(f: FindingRiskInput, e: Exposure): RiskScore {
  const parts: RiskPart[] = [];
  if (f.cvss) {
    parts.push({
      factor: 'severity',
      points: f.cvss.base * 5,
      why: `CVSS ${f.cvss.version} base ${f.cvss.base} computed from ${f.cvss.vector}`,
    });
  } else if (f.statedSeverity !== null) {
    parts.push({
      factor: 'severity',
      points: f.statedSeverity * 5,
      why: `severity ${f.statedSeverity} stated by the advisory (no vector)`,
    });
  } else parts.push({ factor: 'severity', points: 25, why: 'no CVSS vector: assumed medium (5.0)' });
  if (f.kev) {
    parts.push({
      factor: 'exploitation',
      points: 25,
      why: `exploited in the wild: CISA KEV since ${f.kev.dateAdded}`,
    });
    if (f.kev.knownRansomware)
      parts.push({ factor: 'exploitation', points: 5, why: 'used in ransomware campaigns' });
  } else if (f.epss) {
    parts.push({
      factor: 'exploitation',
      points: Math.round(f.epss.probability * 20),
      why: `EPSS ${(f.epss.probability * 100).toFixed(1)}% chance of exploitation in 30 days`,
    });
  }
  parts.push(...exposureParts(e));
  parts.push(
    f.fixAvailable
      ? { factor: 'patch', points: 0, why: 'a fix is available' }
      : { factor: 'patch', points: 5, why: 'no fix available: only compensating controls help' },
  );
  return total(parts, multiplierOf(e.criticality));
}

/** Device score: its worst finding, plus a little for each further high or critical finding. */
export function deviceRisk(
  findings: RiskScore[],
  e: Exposure,
  certificateDaysLeft: number | null,
): RiskScore {
  const certParts: RiskPart[] = [];
  if (certificateDaysLeft !== null && certificateDaysLeft <= 30) {
    certParts.push({
      factor: 'certificate',
      points: certificateDaysLeft <= 0 ? 5 : 3,
      why:
        certificateDaysLeft <= 0
          ? 'device certificate expired'
          : `device certificate expires in ${certificateDaysLeft} days`,
    });
  }
  const [worst, ...others] = [...findings].sort((a, b) => b.score - a.score);
  if (!worst) return total([...exposureParts(e), ...certParts], multiplierOf(e.criticality));
  const serious = others.filter((f) => f.band === 'high' || f.band === 'critical').length;
  const parts: RiskPart[] = [
    { factor: 'findings', points: worst.score, why: `worst finding scores ${worst.score} (${worst.band})` },
  ];
  if (serious > 0)
    parts.push({
      factor: 'findings',
      points: Math.min(10, 2 * serious),
      why: `${serious} more high or critical findings`,
    });
  parts.push(...certParts);
  // The worst finding already carries the criticality multiplier.
  return total(parts, { value: 1, why: 'criticality already in the finding scores' });
}
