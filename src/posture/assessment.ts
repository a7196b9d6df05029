/**
 * Per-device posture: what runs on the device (its firmware's SBOM), which advisories match,
 * what VEX says about them, how risky each is here, and what to do. A pure function of its
 * inputs so the benchmark and the tests drive exactly what the report and the API show.
 */
import { scoreVector } from './cvss.ts';
import { type SupportStatus, supportStatus } from './end-of-support.ts';
import type { AdvisoryIndex, Match } from './matcher.ts';
import type { InventoryRow } from './posture.store.ts';
import { deviceRisk, type Exposure, findingRisk, type RiskScore } from './risk.ts';
import type { Component, DeviceModel, EpssScore, KevEntry, VexStatus } from './types.ts';
import { compareGeneric } from './version-compare.ts';
import type { VexIndex } from './vex.ts';

export interface Finding {
  vulnerability: string;
  advisoryId: string;
  summary: string;
  component: string;
  installedVersion: string;
  fixedVersion: string | null;
  /** A newer firmware of this model whose SBOM no longer carries the vulnerability. */
  fixFirmware: string | null;
  status: VexStatus;
  statusReason: string | null;
  cvss: { version: string; base: number; vector: string } | null;
  kev: boolean;
  epss: number | null;
  risk: RiskScore | null;
}

export interface Recommendation {
  action: 'none' | 'firmware-update' | 'vendor-fix' | 'compensating-controls' | 'replace';
  steps: string[];
}

export interface DevicePosture extends Omit<InventoryRow, 'lastSeenMs' | 'certificateNotAfter'> {
  lastSeen: string | null;
  certificateExpires: string | null;
  manufacturer: string | null;
  criticality: string | null;
  capabilities: Pick<DeviceModel, 'encryption' | 'authentication' | 'patchability'> | null;
  support: SupportStatus;
  hasSbom: boolean;
  risk: RiskScore;
  findings: Finding[];
  suppressed: Finding[];
  warnings: string[];
  recommendation: Recommendation;
}

export interface PostureReport {
  generatedAt: string;
  summary: {
    devices: number;
    findings: number;
    suppressed: number;
    byBand: Record<RiskScore['band'], number>;
    endOfSupportWarnings: number;
    legacyDevices: number;
  };
  devices: DevicePosture[];
}

export interface AssessmentInput {
  models: DeviceModel[];
  inventory: InventoryRow[];
  sboms: Array<{ model: string; firmware: string; components: Component[] }>;
  index: AdvisoryIndex;
  kev: KevEntry[];
  epss: EpssScore[];
  vex: VexIndex;
  nowMs: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const DAY_MS = 86_400_000;

export function assess(input: AssessmentInput): PostureReport {
  const models = new Map(input.models.map((m) => [m.model, m]));
  const sboms = new Map(input.sboms.map((s) => [`${s.model}\u0000${s.firmware}`, s.components]));
  const firmwaresOf = new Map<string, string[]>();
  for (const s of input.sboms) firmwaresOf.set(s.model, [...(firmwaresOf.get(s.model) ?? []), s.firmware]);
  const kev = new Map(input.kev.map((k) => [k.cve, k]));
  const epss = new Map(input.epss.map((e) => [e.cve, e]));

  // One match per distinct (model, firmware): the devices running it share the result.
  const memo = new Map<string, Match[]>();
  const matchesFor = (model: string, firmware: string): Match[] => {
    const id = `${model}\u0000${firmware}`;
    let m = memo.get(id);
    if (!m) {
      const meta = models.get(model);
      m = input.index.match(
        sboms.get(id) ?? [],
        meta ? { manufacturer: meta.manufacturer, model, firmware } : undefined,
      );
      memo.set(id, m);
    }
    return m;
  };
  const activeMemo = new Map<string, Set<string>>();
  const activeIds = (model: string, firmware: string): Set<string> => {
    const id = `${model}\u0000${firmware}`;
    let set = activeMemo.get(id);
    if (!set) {
      const meta = models.get(model);
      const device = { manufacturer: meta?.manufacturer ?? '', model, firmware };
      set = new Set(
        matchesFor(model, firmware)
          .filter((m) => {
            const d = input.vex.decide(m, device);
            return !d || d.status === 'affected' || d.status === 'under_investigation';
          })
          .map((m) => m.vulnerability),
      );
      activeMemo.set(id, set);
    }
    return set;
  };
  const fixFirmwareMemo = new Map<string, string | null>();
  const fixFirmware = (model: string, firmware: string, vuln: string): string | null => {
    const id = `${model}\u0000${firmware}\u0000${vuln}`;
    if (fixFirmwareMemo.has(id)) return fixFirmwareMemo.get(id) ?? null;
    const newer = (firmwaresOf.get(model) ?? [])
      .filter((f) => compareGeneric(f, firmware) > 0)
      .sort(compareGeneric);
    const found = newer.find((f) => !activeIds(model, f).has(vuln)) ?? null;
    fixFirmwareMemo.set(id, found);
    return found;
  };

  // Devices with the same firmware and the same exposure get the same findings: computed once.
  const findingsMemo = new Map<string, { findings: Finding[]; suppressed: Finding[] }>();
  const findingsFor = (
    d: InventoryRow,
    firmware: string,
    meta: DeviceModel | undefined,
    exposure: Exposure,
  ): { findings: Finding[]; suppressed: Finding[] } => {
    const memoKey = [d.model, firmware, d.zone, d.connection, d.internetReachable].join('\u0000');
    const hit = findingsMemo.get(memoKey);
    if (hit) return hit;
    const findings: Finding[] = [];
    const suppressed: Finding[] = [];
    {
      const device = { manufacturer: meta?.manufacturer ?? '', model: d.model, firmware };
      for (const m of matchesFor(d.model, firmware)) {
        const decision = input.vex.decide(m, device);
        const vuln = m.vulnerability;
        const cvssResult = m.advisory.cvssVector ? scoreVector(m.advisory.cvssVector) : null;
        const cvss = cvssResult && typeof cvssResult !== 'string' ? cvssResult : null;
        const k = kev.get(vuln);
        const e = epss.get(vuln);
        const fw = fixFirmware(d.model, firmware, vuln);
        const status = decision?.status ?? 'affected';
        const isActive = status === 'affected' || status === 'under_investigation';
        const f: Finding = {
          vulnerability: vuln,
          advisoryId: m.advisory.id,
          summary: m.advisory.summary,
          component: m.component
            ? (m.component.purl ?? m.component.cpe ?? m.component.name)
            : `${d.model} firmware`,
          installedVersion: m.version,
          fixedVersion: m.fixedVersion,
          fixFirmware: fw,
          status,
          statusReason:
            decision?.reason ??
            (cvssResult && typeof cvssResult === 'string' ? `CVSS ignored: ${cvssResult}` : null),
          cvss,
          kev: k !== undefined,
          epss: e?.probability ?? null,
          risk: isActive
            ? findingRisk(
                {
                  cvss,
                  statedSeverity: m.advisory.severityScore,
                  kev: k,
                  epss: e,
                  fixAvailable: fw !== null || m.fixedVersion !== null,
                },
                exposure,
              )
            : null,
        };
        (isActive ? findings : suppressed).push(f);
      }
    }
    findings.sort((a, b) => (b.risk?.score ?? 0) - (a.risk?.score ?? 0));
    const result = { findings, suppressed };
    findingsMemo.set(memoKey, result);
    return result;
  };

  const devices = input.inventory.map((d): DevicePosture => {
    const meta = models.get(d.model);
    const support = supportStatus(meta?.endOfSupportMs, input.nowMs);
    const exposure: Exposure = {
      zone: d.zone,
      connection: d.connection,
      internetReachable: d.internetReachable,
      support,
      criticality: meta?.criticality ?? null,
    };
    const firmware = d.firmware;
    const hasSbom = firmware !== null && sboms.has(`${d.model}\u0000${firmware}`);
    const { findings, suppressed } =
      firmware === null
        ? { findings: [] as Finding[], suppressed: [] as Finding[] }
        : findingsFor(d, firmware, meta, exposure);
    const certDays =
      d.certificateNotAfter === null ? null : Math.ceil((d.certificateNotAfter - input.nowMs) / DAY_MS);
    const risk = deviceRisk(
      findings.map((f) => f.risk!),
      exposure,
      certDays,
    );
    const warnings: string[] = [];
    if (!meta)
      warnings.push(
        `model "${d.model}" is not in the posture inventory: add it with "vigil posture model add"`,
      );
    if (firmware === null)
      warnings.push('firmware version unknown: the device has not reported its status yet');
    else if (!hasSbom)
      warnings.push(`no SBOM for ${d.model} firmware ${firmware}: only model-level advisories can match`);
    if (support.state === 'legacy')
      warnings.push(`legacy device: manufacturer support ended ${-(support.daysLeft ?? 0)} days ago`);
    else if (support.state.startsWith('ends-within'))
      warnings.push(`manufacturer support ends in ${support.daysLeft} days`);
    const { lastSeenMs, certificateNotAfter, ...rest } = d;
    return {
      ...rest,
      lastSeen: iso(lastSeenMs),
      certificateExpires: iso(certificateNotAfter),
      manufacturer: meta?.manufacturer ?? null,
      criticality: meta?.criticality ?? null,
      capabilities: meta
        ? {
            encryption: meta.encryption,
            authentication: meta.authentication,
            patchability: meta.patchability,
          }
        : null,
      support,
      hasSbom,
      risk,
      findings,
      suppressed,
      warnings,
      recommendation: recommend(d, meta, support, findings),
    };
  });
  devices.sort((a, b) => b.risk.score - a.risk.score || a.id.localeCompare(b.id));
  const byBand = { critical: 0, high: 0, medium: 0, low: 0 };
  for (const d of devices) for (const f of d.findings) byBand[f.risk!.band]++;
  return {
    generatedAt: new Date(input.nowMs).toISOString(),
    summary: {
      devices: devices.length,
      findings: devices.reduce((n, d) => n + d.findings.length, 0),
      suppressed: devices.reduce((n, d) => n + d.suppressed.length, 0),
      byBand,
      endOfSupportWarnings: devices.filter((d) => d.support.state.startsWith('ends-within')).length,
      legacyDevices: devices.filter((d) => d.support.state === 'legacy').length,
    },
    devices,
  };
}

/** A fix exists: plan the firmware update. None: compensating controls (IEC 80001-1 style). */
export function recommend(
  d: InventoryRow,
  meta: DeviceModel | undefined,
  support: SupportStatus,
  findings: Finding[],
): Recommendation {
  const controls = [
    ...(d.zone === 'isolated'
      ? []
      : [`isolate the device: move it from the ${d.zone} zone to an isolated medical-device segment`]),
    'restrict its network flows to Vigil (MQTT 8883, HTTPS 8443) and its vendor service endpoint',
    'raise monitoring: alert on any new peer or protocol for this device',
    ...(d.connection === 'legacy'
      ? ['re-enrol it with a device certificate (mTLS) to retire the shared legacy secret']
      : []),
  ];
  if (findings.length === 0) {
    if (support.state === 'legacy')
      return {
        action: 'replace',
        steps: ['plan replacement: the model is out of manufacturer support', ...controls],
      };
    return { action: 'none', steps: [] };
  }
  const byFirmware = findings.filter((f) => f.fixFirmware !== null);
  const vendorFixes = findings.filter((f) => f.fixFirmware === null && f.fixedVersion !== null);
  const steps: string[] = [];
  if (byFirmware.length > 0) {
    const target = byFirmware
      .map((f) => f.fixFirmware!)
      .sort(compareGeneric)
      .at(-1)!;
    steps.push(
      `plan a firmware update from ${d.firmware} to ${target} (resolves ${byFirmware.length} of ${findings.length} findings)`,
    );
  }
  for (const f of vendorFixes.slice(0, 5)) {
    steps.push(
      `ask ${meta?.manufacturer ?? 'the manufacturer'} for firmware with ${f.component} ${f.fixedVersion} or later (${f.vulnerability})`,
    );
  }
  const unfixed = findings.length - byFirmware.length;
  if (unfixed > 0) steps.push(...controls);
  if (support.state === 'legacy') steps.push('plan replacement: the model is out of manufacturer support');
  const action =
    byFirmware.length > 0
      ? 'firmware-update'
      : vendorFixes.length > 0
        ? 'vendor-fix'
        : 'compensating-controls';
  return { action, steps };
}
