/**
 * Applying VEX: a statement from the SBOM (CycloneDX analysis) or from a vendor (CSAF
 * product_status) marks a finding not affected, fixed or under investigation, with its reason.
 */
import { deviceKey } from './advisory-csaf.ts';
import type { Match } from './matcher.ts';
import type { VexStatement, VexStatus } from './types.ts';
import { inVers, parseVers, type VersRange } from './version-range.ts';

export interface VexDecision {
  status: VexStatus;
  reason: string;
}

const versCache = new Map<string, VersRange | null>();

/**
 * A range that does not parse (CSAF also allows vls) is not understood, so the statement does
 * not apply: the finding stays visible rather than hidden on a guess.
 */
function inStatementRange(version: string, text: string): boolean {
  let range = versCache.get(text);
  if (range === undefined) {
    const parsed = parseVers(text);
    range = typeof parsed === 'string' ? null : parsed;
    if (versCache.size > 10_000) versCache.clear();
    versCache.set(text, range);
  }
  return range !== null && inVers(version, range);
}

/** Statements indexed by vulnerability id, since every finding asks "what is said about this id?". */
export class VexIndex {
  private readonly byVuln = new Map<string, VexStatement[]>();
  constructor(statements: Iterable<VexStatement>) {
    for (const s of statements) {
      const list = this.byVuln.get(s.vulnerability) ?? [];
      list.push(s);
      this.byVuln.set(s.vulnerability, list);
    }
  }

  /**
   * A statement applies when it names the vulnerability (id or alias) and the product: the
   * model (and firmware), or the matched package key (and its version), or the device model's
   * key as a vendor advisory names it.
   */
  decide(
    m: Match,
    device: { manufacturer: string; model: string; firmware: string },
  ): VexDecision | undefined {
    const ids = [m.advisory.id, ...m.advisory.aliases];
    const ownKey = deviceKey(device.manufacturer, device.model);
    const applicable: VexStatement[] = [];
    for (const id of ids) {
      for (const s of this.byVuln.get(id) ?? []) {
        if (s.model !== null && s.model !== device.model) continue;
        if (s.model !== null && s.firmware !== null && s.firmware !== device.firmware) continue;
        if (s.componentKey !== null) {
          if (s.componentKey === m.key) {
            if (s.model === null && s.firmware !== null && s.firmware !== m.version) continue;
            if (s.vers !== undefined && !inStatementRange(m.version, s.vers)) continue;
          } else if (s.componentKey === ownKey) {
            if (s.model === null && s.firmware !== null && s.firmware !== device.firmware) continue;
            if (s.vers !== undefined && !inStatementRange(device.firmware, s.vers)) continue;
          } else continue;
        } else if (s.vers !== undefined && !inStatementRange(device.firmware, s.vers)) continue;
        applicable.push(s);
      }
    }
    // The most conclusive statement wins: not affected, then fixed, then under investigation.
    for (const status of ['not_affected', 'fixed', 'under_investigation', 'affected'] as const) {
      const s = applicable.find((x) => x.status === status);
      if (s) return { status, reason: `${s.justification ?? status.replace(/_/g, ' ')} [${s.source}]` };
    }
    return undefined;
  }
}
