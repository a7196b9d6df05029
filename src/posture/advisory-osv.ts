/**
 * OSV JSON (ossf OSV schema 1.6): one entry or an array of entries. Checked by hand rather
 * than by a schema engine because 500,000 entries must load in under two minutes; every refusal
 * names the JSON pointer of the offending field.
 */
import { ecosystemInfo, parsePurl, purlKey } from './purl.ts';
import type { Advisory, Affected, AffectedRange } from './types.ts';

export class AdvisoryError extends Error {
  constructor(
    readonly pointer: string,
    reason: string,
  ) {
    super(reason);
  }
}

type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function need(cond: unknown, pointer: string, reason: string): asserts cond {
  if (!cond) throw new AdvisoryError(pointer, reason);
}

/** Splits an OSV package name into purl namespace and name the way the ecosystem spells it. */
function splitName(type: string, name: string): { namespace: string | null; name: string } {
  if (type === 'maven' && name.includes(':')) {
    const [g, a] = name.split(':') as [string, string];
    return { namespace: g, name: a };
  }
  if ((type === 'npm' && name.startsWith('@')) || type === 'golang') {
    const slash = name.lastIndexOf('/');
    if (slash > 0) return { namespace: name.slice(0, slash), name: name.slice(slash + 1) };
  }
  return { namespace: null, name };
}

function parseAffected(a: unknown, at: string): Affected | null {
  need(isObj(a), at, 'each affected entry must be an object');
  const pkg = a.package;
  need(isObj(pkg), `${at}/package`, 'affected.package must be an object');
  let key: string;
  const eco = typeof pkg.ecosystem === 'string' ? pkg.ecosystem : '';
  if (typeof pkg.purl === 'string') {
    const p = parsePurl(pkg.purl);
    need(typeof p !== 'string', `${at}/package/purl`, typeof p === 'string' ? p : '');
    key = p.key;
  } else {
    need(eco !== '', `${at}/package/ecosystem`, 'package.ecosystem must be a non-empty string');
    need(
      typeof pkg.name === 'string' && pkg.name !== '',
      `${at}/package/name`,
      'package.name must be a non-empty string',
    );
    const info = ecosystemInfo(eco);
    const split = splitName(info.type, pkg.name);
    key = purlKey(info.type, info.namespace ?? split.namespace, split.name);
  }
  const versions = a.versions ?? [];
  need(
    Array.isArray(versions) && versions.every((v) => typeof v === 'string'),
    `${at}/versions`,
    'versions must be an array of strings',
  );
  const ranges: AffectedRange[] = [];
  const rawRanges = a.ranges ?? [];
  need(Array.isArray(rawRanges), `${at}/ranges`, 'ranges must be an array');
  rawRanges.forEach((r, i) => {
    const rp = `${at}/ranges/${i}`;
    need(isObj(r), rp, 'each range must be an object');
    need(
      r.type === 'SEMVER' || r.type === 'ECOSYSTEM' || r.type === 'GIT',
      `${rp}/type`,
      'range type must be SEMVER, ECOSYSTEM or GIT',
    );
    need(Array.isArray(r.events) && r.events.length > 0, `${rp}/events`, 'events must be a non-empty array');
    const events: AffectedRange['events'] = r.events.map((e, j) => {
      const ep = `${rp}/events/${j}`;
      need(isObj(e), ep, 'each event must be an object');
      if (typeof e.introduced === 'string') return { introduced: e.introduced };
      if (typeof e.fixed === 'string') return { fixed: e.fixed };
      if (typeof e.last_affected === 'string') return { last_affected: e.last_affected };
      if (typeof e.limit === 'string') return { fixed: e.limit };
      throw new AdvisoryError(ep, 'an event needs introduced, fixed, last_affected or limit (a string)');
    });
    // Git commit ranges cannot be compared with released versions; OSV lists `versions` for them.
    if (r.type === 'GIT') return;
    ranges.push({ scheme: r.type === 'SEMVER' ? 'semver' : ecosystemInfo(eco).scheme, events });
  });
  return { key, versions: versions as string[], ranges, fixedVersions: [] };
}

/** OSV `severity[]`: the first CVSS v4 or v3 vector. */
function cvssOf(severity: unknown, at: string): string | null {
  if (severity === undefined) return null;
  need(Array.isArray(severity), at, 'severity must be an array');
  let best: string | null = null;
  severity.forEach((s, i) => {
    need(
      isObj(s) && typeof s.type === 'string' && typeof s.score === 'string',
      `${at}/${i}`,
      'severity entries need type and score strings',
    );
    if ((s.type === 'CVSS_V4' || s.type === 'CVSS_V3') && (best === null || s.type === 'CVSS_V4'))
      best = s.score;
  });
  return best;
}

export function parseOsvEntry(e: unknown, at: string): Advisory {
  need(isObj(e), at, 'an OSV entry must be an object');
  need(
    typeof e.id === 'string' && /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(e.id),
    `${at}/id`,
    'id must be an OSV id such as GHSA-xxxx or CVE-2024-1234',
  );
  need(
    typeof e.modified === 'string' && !Number.isNaN(Date.parse(e.modified)),
    `${at}/modified`,
    'modified must be an RFC 3339 time',
  );
  const aliases = e.aliases ?? [];
  need(
    Array.isArray(aliases) && aliases.every((x) => typeof x === 'string'),
    `${at}/aliases`,
    'aliases must be an array of strings',
  );
  const affectedRaw = e.affected ?? [];
  need(Array.isArray(affectedRaw), `${at}/affected`, 'affected must be an array');
  const affected = affectedRaw.flatMap((a, i) => parseAffected(a, `${at}/affected/${i}`) ?? []);
  const summary =
    typeof e.summary === 'string' ? e.summary : typeof e.details === 'string' ? e.details.slice(0, 300) : '';
  return {
    id: e.id,
    source: 'osv',
    aliases: aliases as string[],
    summary,
    cvssVector: cvssOf(e.severity, `${at}/severity`),
    severityScore: null,
    affected,
    remediation: null,
    modifiedMs: Date.parse(e.modified),
  };
}

export function parseOsv(doc: unknown): Advisory[] {
  if (Array.isArray(doc)) return doc.map((e, i) => parseOsvEntry(e, `/${i}`));
  return [parseOsvEntry(doc, '')];
}
