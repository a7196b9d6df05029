/**
 * Is a version inside an advisory's ranges? OSV range semantics (ossf OSV schema §affected.ranges:
 * events sorted by version, the last one at or below the version decides) and the `vers` URI
 * form CSAF 2.0 uses in product_version_range (package-url/purl-spec VERSION-RANGE-SPEC).
 */

import type { Affected, AffectedRange, VersionScheme } from './types.ts';
import { type Comparator, comparatorFor } from './version-compare.ts';

type Event = AffectedRange['events'][number];

function eventVersion(e: Event): string {
  return 'introduced' in e ? e.introduced : 'fixed' in e ? e.fixed : e.last_affected;
}

/** `introduced: "0"` means "since the beginning" in OSV, whatever the ordering. */
function compareEventVersion(cmp: Comparator, a: string, b: string): number {
  if (a === '0' || b === '0') return a === b ? 0 : a === '0' ? -1 : 1;
  return cmp(a, b);
}

// Ranges are checked many times each (once per component that shares the package): sort once.
const sortedEvents = new WeakMap<AffectedRange, AffectedRange['events']>();

export function inRange(version: string, range: AffectedRange): boolean {
  const cmp = comparatorFor(range.scheme);
  let events = sortedEvents.get(range);
  if (!events) {
    events = [...range.events].sort((x, y) => compareEventVersion(cmp, eventVersion(x), eventVersion(y)));
    sortedEvents.set(range, events);
  }
  let affected = false;
  for (const e of events) {
    if ('introduced' in e) {
      if (e.introduced === '0' || cmp(version, e.introduced) >= 0) affected = true;
    } else if ('fixed' in e) {
      if (cmp(version, e.fixed) >= 0) affected = false;
    } else if (cmp(version, e.last_affected) > 0) affected = false;
  }
  return affected;
}

const versCache = new Map<string, VersRange | string>();

export function isAffectedVersion(version: string, affected: Affected): boolean {
  if (affected.versions.includes(version)) return true;
  if (affected.ranges.some((r) => inRange(version, r))) return true;
  for (const text of affected.vers ?? []) {
    let range = versCache.get(text);
    if (range === undefined) {
      range = parseVers(text);
      versCache.set(text, range);
    }
    if (typeof range !== 'string' && inVers(version, range)) return true;
  }
  return false;
}

/** The lowest fixed version above `version` in any range, to tell what to update to. */
export function fixFor(version: string, affected: Affected): string | null {
  let best: { v: string; cmp: Comparator } | null = null;
  const candidates: Array<{ v: string; scheme: VersionScheme }> = [
    ...affected.ranges.flatMap((r) =>
      r.events.flatMap((e) => ('fixed' in e ? [{ v: e.fixed, scheme: r.scheme }] : [])),
    ),
    ...affected.fixedVersions.map((v) => ({ v, scheme: 'generic' as const })),
  ];
  for (const c of candidates) {
    const cmp = comparatorFor(c.scheme);
    if (cmp(c.v, version) <= 0) continue;
    if (!best || cmp(c.v, best.v) < 0) best = { v: c.v, cmp };
  }
  return best?.v ?? null;
}

export interface VersRange {
  scheme: VersionScheme;
  constraints: Array<{ op: '=' | '!=' | '<' | '<=' | '>' | '>='; version: string }>;
}

const VERS_SCHEMES: Record<string, VersionScheme> = {
  semver: 'semver',
  npm: 'semver',
  golang: 'semver',
  cargo: 'semver',
  deb: 'deb',
  rpm: 'rpm',
  generic: 'generic',
};

/** Parses `vers:<scheme>/<constraint>|<constraint>...`; returns an error text when malformed. */
export function parseVers(text: string): VersRange | string {
  const m = /^vers:([a-z0-9.+-]+)\/(.+)$/i.exec(text.trim());
  if (!m) return `"${text.slice(0, 80)}" is not a vers range (vers:<scheme>/<constraints>)`;
  const scheme = VERS_SCHEMES[m[1]!.toLowerCase()] ?? 'generic';
  const constraints: VersRange['constraints'] = [];
  for (const raw of m[2]!.split('|')) {
    const c = /^(!=|<=|>=|<|>|=)?\s*(\S+)$/.exec(raw.trim());
    if (!c) return `vers constraint "${raw.slice(0, 40)}" is malformed`;
    if (c[2] === '*') return { scheme, constraints: [{ op: '>=', version: '0' }] };
    constraints.push({ op: (c[1] ?? '=') as VersRange['constraints'][number]['op'], version: c[2]! });
  }
  // The vers spec requires each version to appear once; "<2|>=2" has no single meaning.
  const cmp = comparatorFor(scheme);
  const sorted = constraints.map((c) => c.version).sort(cmp);
  for (let i = 1; i < sorted.length; i++) {
    if (cmp(sorted[i - 1]!, sorted[i]!) === 0)
      return `vers range "${text.slice(0, 80)}" names version ${sorted[i]} twice`;
  }
  return { scheme, constraints };
}

/** vers spec "checking a version": equality first, then consecutive bound pairs as intervals. */
export function inVers(version: string, range: VersRange): boolean {
  const cmp = comparatorFor(range.scheme);
  if (range.constraints.length === 1 && range.constraints[0]!.version === '0') return true;
  for (const c of range.constraints) {
    if (c.op === '=' && cmp(version, c.version) === 0) return true;
    if (c.op === '!=' && cmp(version, c.version) === 0) return false;
  }
  const bounds = range.constraints
    .filter((c) => c.op !== '=' && c.op !== '!=')
    .sort((a, b) => cmp(a.version, b.version));
  const holds = (c: VersRange['constraints'][number]) => {
    const d = cmp(version, c.version);
    return c.op === '<' ? d < 0 : c.op === '<=' ? d <= 0 : c.op === '>' ? d > 0 : d >= 0;
  };
  for (let i = 0; i < bounds.length; i++) {
    const c = bounds[i]!;
    if (c.op === '<' || c.op === '<=') {
      if (i === 0 && holds(c)) return true;
      continue;
    }
    const next = bounds[i + 1];
    if (!next || next.op === '>' || next.op === '>=') {
      if (!next && holds(c)) return true;
      continue;
    }
    if (holds(c) && holds(next)) return true;
  }
  return false;
}

interface CompiledRange {
  cmp: Comparator;
  events: AffectedRange['events'];
}

/**
 * An advisory's affected entry prepared once for many checks: events in order, comparator
 * chosen, `vers` parsed. Built for each of up to 500,000 advisories, so it allocates little,
 * and a check allocates nothing.
 */
export class CompiledAffected {
  private readonly ranges: CompiledRange[];
  private readonly vers: VersRange[] | undefined;

  constructor(readonly affected: Affected) {
    this.ranges = affected.ranges.map((r) => {
      const cmp = comparatorFor(r.scheme);
      const [first, second] = r.events;
      // Most ranges are one introduced/fixed pair, already in order: skip the sort for them.
      const inOrder =
        r.events.length === 1 ||
        (r.events.length === 2 &&
          first !== undefined &&
          second !== undefined &&
          'introduced' in first &&
          !('introduced' in second) &&
          compareEventVersion(cmp, first.introduced, eventVersion(second)) <= 0);
      const events = inOrder
        ? r.events
        : [...r.events].sort((x, y) => compareEventVersion(cmp, eventVersion(x), eventVersion(y)));
      return { cmp, events };
    });
    if (affected.vers?.length) {
      this.vers = affected.vers.flatMap((text) => {
        const v = parseVers(text);
        return typeof v === 'string' ? [] : [v];
      });
    }
  }

  matches(version: string): boolean {
    if (this.affected.versions.length > 0 && this.affected.versions.includes(version)) return true;
    for (const r of this.ranges) {
      let affected = false;
      for (const e of r.events) {
        if ('introduced' in e) {
          if (e.introduced === '0') {
            affected = true;
            continue;
          }
          // Events are sorted: once one lies above the version, none after it applies.
          if (r.cmp(version, e.introduced) < 0) break;
          affected = true;
        } else if ('fixed' in e) {
          if (r.cmp(version, e.fixed) < 0) break;
          affected = false;
        } else {
          const d = r.cmp(version, e.last_affected);
          if (d < 0) break;
          if (d > 0) affected = false;
        }
      }
      if (affected) return true;
    }
    if (this.vers) for (const v of this.vers) if (inVers(version, v)) return true;
    return false;
  }

  private fixes: Array<{ v: string; cmp: Comparator }> | undefined;

  /** Same answer as fixFor(), without allocating per call. */
  fixFor(version: string): string | null {
    this.fixes ??= [
      ...this.affected.ranges.flatMap((r) => {
        const cmp = comparatorFor(r.scheme);
        return r.events.flatMap((e) => ('fixed' in e ? [{ v: e.fixed, cmp }] : []));
      }),
      ...this.affected.fixedVersions.map((v) => ({ v, cmp: comparatorFor('generic') })),
    ];
    let best: { v: string; cmp: Comparator } | null = null;
    for (const c of this.fixes) {
      if (c.cmp(c.v, version) <= 0) continue;
      if (!best || c.cmp(c.v, best.v) < 0) best = c;
    }
    return best?.v ?? null;
  }
}
