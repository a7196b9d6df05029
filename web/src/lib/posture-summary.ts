import type { DevicePosture, RiskBand, RiskScore, SupportStatus } from '../api/posture.ts';

/** The fleet-wide view the Posture screen draws, worked out from the per-device answers. */
export const BANDS: readonly RiskBand[] = ['critical', 'high', 'medium', 'low'];

export interface FleetFinding {
  vulnerability: string;
  summary: string;
  devices: number;
  worst: RiskScore;
  kev: boolean;
  epss: number | null;
  fix: string | null;
}

export interface ModelSupport {
  model: string;
  manufacturer: string | null;
  support: SupportStatus;
  devices: number;
}

export function devicesByBand(devices: readonly DevicePosture[]): Record<RiskBand, number> {
  const out: Record<RiskBand, number> = { critical: 0, high: 0, medium: 0, low: 0 };
  for (const d of devices) out[d.risk.band]++;
  return out;
}

/** Each vulnerability once, with how many devices carry it and its worst score; riskiest first. */
export function topFindings(devices: readonly DevicePosture[], limit = 10): FleetFinding[] {
  const byId = new Map<string, FleetFinding>();
  for (const d of devices) {
    for (const f of d.findings) {
      if (!f.risk) continue;
      const seen = byId.get(f.vulnerability);
      const fix = f.fixFirmware ? `firmware ${f.fixFirmware}` : f.fixedVersion;
      if (!seen) {
        byId.set(f.vulnerability, {
          vulnerability: f.vulnerability,
          summary: f.summary,
          devices: 1,
          worst: f.risk,
          kev: f.kev,
          epss: f.epss,
          fix,
        });
        continue;
      }
      seen.devices++;
      if (f.risk.score > seen.worst.score) seen.worst = f.risk;
      seen.kev ||= f.kev;
      seen.fix ??= fix;
    }
  }
  return [...byId.values()]
    .sort((a, b) => b.worst.score - a.worst.score || b.devices - a.devices)
    .slice(0, limit);
}

/** Models whose manufacturer support has ended or ends within 180 days, soonest first. */
export function modelsNearEndOfSupport(devices: readonly DevicePosture[]): ModelSupport[] {
  const byModel = new Map<string, ModelSupport>();
  for (const d of devices) {
    if (d.support.state !== 'legacy' && !d.support.state.startsWith('ends-within')) continue;
    const seen = byModel.get(d.model);
    if (seen) seen.devices++;
    else
      byModel.set(d.model, { model: d.model, manufacturer: d.manufacturer, support: d.support, devices: 1 });
  }
  return [...byModel.values()].sort((a, b) => (a.support.daysLeft ?? 0) - (b.support.daysLeft ?? 0));
}
