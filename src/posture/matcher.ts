/**
 * Matching SBOM components to advisories. Advisories are indexed in memory by package key
 * (purl type/namespace/name, CPE part:vendor:product, or device manufacturer:model), so each
 * component costs one map lookup plus version checks against that package's advisories only.
 * Callers match each distinct SBOM (model + firmware) once and share the result between the
 * devices that run it: 5,000 devices on 200 firmware builds are 200 matches, not 5,000.
 */
import { deviceKey } from './advisory-csaf.ts';
import { parseCpe } from './cpe.ts';
import { parsePurl } from './purl.ts';
import type { Advisory, Affected, Component } from './types.ts';
import { CompiledAffected } from './version-range.ts';

export interface Match {
  advisory: Advisory;
  /** The CVE alias when there is one, else the advisory id. */
  vulnerability: string;
  /** The SBOM component that matched; null when the advisory names the device model itself. */
  component: Component | null;
  key: string;
  version: string;
  /** The lowest fixed version above the installed one, when the advisory names one. */
  fixedVersion: string | null;
}

interface Entry {
  advisory: Advisory;
  vulnerability: string;
  affected: Affected;
  /** Compiled on first use: only packages some SBOM contains ever pay for it. */
  compiled?: CompiledAffected;
}

const purlKeys = new Map<string, { key: string; version: string | null } | null>();

/** Package keys and installed version of a component (purl first, then CPE). */
export function componentKeys(c: Component): Array<{ key: string; version: string }> {
  if (c.keys) return c.keys;
  const out: Array<{ key: string; version: string }> = [];
  if (c.purl) {
    let p = purlKeys.get(c.purl);
    if (p === undefined) {
      const parsed = parsePurl(c.purl);
      p = typeof parsed === 'string' ? null : { key: parsed.key, version: parsed.version };
      if (purlKeys.size > 500_000) purlKeys.clear();
      purlKeys.set(c.purl, p);
    }
    const version = p?.version ?? c.version;
    if (p && version) out.push({ key: p.key, version });
  }
  if (c.cpe) {
    const cpe = parseCpe(c.cpe);
    if (typeof cpe !== 'string') {
      const version = cpe.version !== '*' && cpe.version !== '-' ? cpe.version : c.version;
      if (version) out.push({ key: cpe.key, version });
    }
  }
  return out;
}

export class AdvisoryIndex {
  private readonly byKey = new Map<string, Entry[]>();
  size = 0;

  constructor(advisories: Iterable<Advisory> = []) {
    for (const a of advisories) this.add(a);
  }

  add(advisory: Advisory): void {
    this.size++;
    for (const affected of advisory.affected) {
      let list = this.byKey.get(affected.key);
      if (!list) {
        list = [];
        this.byKey.set(affected.key, list);
      }
      list.push({ advisory, vulnerability: vulnerabilityId(advisory), affected });
    }
  }

  /**
   * Appends the advisories affecting this package version. A vulnerability is reported once per
   * package even when OSV and CSAF both describe it: the richer description (with a CVSS vector,
   * with a fix) wins. Duplicates can only sit among this key's matches, so the check stays local.
   */
  private lookup(key: string, version: string, component: Component | null, out: Match[]): void {
    const list = this.byKey.get(key);
    if (!list) return;
    const start = out.length;
    for (const entry of list) {
      entry.compiled ??= new CompiledAffected(entry.affected);
      if (!entry.compiled.matches(version)) continue;
      const m: Match = {
        advisory: entry.advisory,
        vulnerability: entry.vulnerability,
        component,
        key,
        version,
        fixedVersion: entry.compiled.fixFor(version),
      };
      let i = start;
      while (i < out.length && out[i]!.vulnerability !== entry.vulnerability) i++;
      if (i === out.length) out.push(m);
      else if (
        (!out[i]!.advisory.cvssVector && m.advisory.cvssVector) ||
        (!out[i]!.fixedVersion && m.fixedVersion)
      )
        out[i] = m;
    }
  }

  /** Every advisory that affects a component of this SBOM, or the device model's firmware. */
  match(
    components: readonly Component[],
    device?: { manufacturer: string; model: string; firmware: string },
  ): Match[] {
    const out: Match[] = [];
    for (const c of components) {
      for (const { key, version } of componentKeys(c)) this.lookup(key, version, c, out);
    }
    if (device) this.lookup(deviceKey(device.manufacturer, device.model), device.firmware, null, out);
    return out;
  }
}

/** The id a finding goes by: its CVE alias when it has one (VEX, KEV and EPSS speak CVE). */
export function vulnerabilityId(a: Advisory): string {
  return a.aliases.find((x) => x.startsWith('CVE-')) ?? a.id;
}
