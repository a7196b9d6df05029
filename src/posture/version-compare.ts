/**
 * Version orderings used by firmware and the packages inside it. Each comparator is a total
 * order (property-tested): SemVer 2.0.0 through the `semver` package, the Debian policy
 * ordering (§5.6.12, with `~` before everything), RPM's rpmvercmp, and a generic ordering for
 * ECOSYSTEM ranges whose ecosystem has no rules of its own.
 */
import semver from 'semver';
import type { VersionScheme } from './types.ts';

export type Comparator = (a: string, b: string) => number;

const semverCache = new Map<string, semver.SemVer | null>();

/**
 * Firmware is often versioned "2.4" or "3": a short numeric core is padded to SemVer ("2.4.0"),
 * or any full SemVer would rank above it and `vers:semver/<2.4` would miss 2.3.0.
 */
function coerceShort(v: string): string {
  const m = /^(\d+)(\.\d+)?([-+].*)?$/.exec(v);
  return m ? `${m[1]}${m[2] ?? '.0'}.0${m[3] ?? ''}` : v;
}

function parseSemver(v: string): semver.SemVer | null {
  let parsed = semverCache.get(v);
  if (parsed === undefined) {
    // A leading "v" is common in tags and in firmware names; SemVer itself does not allow it.
    parsed = semver.parse(coerceShort(/^[vV]\d/.test(v) ? v.slice(1) : v));
    if (semverCache.size > 200_000) semverCache.clear();
    semverCache.set(v, parsed);
  }
  return parsed;
}

/** The leading numeric parts ("2.4.1.7-beta" gives 2, 4, 1, 7), as the generic ordering sees them. */
function numericRelease(v: string): string[] {
  const out: string[] = [];
  for (const t of genericTokens(v)) {
    if (t.cls !== 2) break;
    out.push(t.text);
  }
  return out;
}

/** Numeric releases compared with missing parts as 0, so 2.4 equals 2.4.0.0. */
function compareRelease(a: string[], b: string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const c = compareDigits(a[i] ?? '0', b[i] ?? '0');
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * SemVer precedence; a version that is not SemVer even once padded ("2.4.1.7", "1.0.0_rc1")
 * is placed by its numeric release against a SemVer one, and only on an equal release does the
 * SemVer one rank above it. Both orderings agree with that release order, so the whole stays a
 * total order (property-tested), which a plain generic fallback would not be: generic and SemVer
 * disagree about pre-releases such as "1.0.0-1" and "1.0.0-a".
 */
export function compareSemver(a: string, b: string): number {
  const pa = parseSemver(a);
  const pb = parseSemver(b);
  if (pa && pb) return pa.compare(pb);
  if (!pa && !pb) return compareGeneric(a, b);
  const ra = pa ? [String(pa.major), String(pa.minor), String(pa.patch)] : numericRelease(a);
  const rb = pb ? [String(pb.major), String(pb.minor), String(pb.patch)] : numericRelease(b);
  return compareRelease(ra, rb) || (pa ? 1 : -1);
}

type Token = { cls: 0 | 2; text: string };

/**
 * Splits into digit and letter runs; letters sort before the end of the version (so `1.0rc1`
 * comes before `1.0`) and the end before numbers (so `1.0` comes before `1.0.1`). Comparing
 * these sequences lexicographically is a total order.
 */
const tokenCache = new Map<string, Token[]>();

function genericTokens(v: string): Token[] {
  const hit = tokenCache.get(v);
  if (hit) return hit;
  const out: Token[] = [];
  for (const m of v.toLowerCase().matchAll(/\d+|[a-z]+/g)) {
    const text = m[0];
    out.push(/^\d/.test(text) ? { cls: 2, text: text.replace(/^0+(?=\d)/, '') } : { cls: 0, text });
  }
  if (tokenCache.size > 200_000) tokenCache.clear();
  tokenCache.set(v, out);
  return out;
}

/** Compares digit strings of any length numerically, without allocating (hot path). */
function compareDigits(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && a.charCodeAt(i) === 48) i++;
  while (j < b.length && b.charCodeAt(j) === 48) j++;
  const la = a.length - i;
  const lb = b.length - j;
  if (la !== lb) return la < lb ? -1 : 1;
  for (; i < a.length; i++, j++) {
    const d = a.charCodeAt(i) - b.charCodeAt(j);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function compareGeneric(a: string, b: string): number {
  const ta = genericTokens(a);
  const tb = genericTokens(b);
  const n = Math.max(ta.length, tb.length);
  for (let i = 0; i < n; i++) {
    const x = ta[i];
    const y = tb[i];
    const cx = x ? x.cls : 1;
    const cy = y ? y.cls : 1;
    if (cx !== cy) return cx < cy ? -1 : 1;
    if (!x || !y) continue;
    const c = x.cls === 2 ? compareDigits(x.text, y.text) : x.text < y.text ? -1 : x.text > y.text ? 1 : 0;
    if (c !== 0) return c;
  }
  return 0;
}

const isDigitCode = (c: number) => c >= 48 && c <= 57;

/** dpkg's order of a non-digit character: `~` first, then end of string, letters, then others. */
function debOrder(s: string, i: number): number {
  if (i >= s.length) return 0;
  const c = s.charCodeAt(i);
  if (isDigitCode(c)) return 0;
  if (c === 126) return -1;
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return c;
  return c + 256;
}

function digitAt(s: string, k: number): boolean {
  return k < s.length && isDigitCode(s.charCodeAt(k));
}

/** dpkg's verrevcmp (lib/dpkg/version.c), on char codes: it runs for every range check. */
function debPart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !digitAt(a, i)) || (j < b.length && !digitAt(b, j))) {
      const ac = debOrder(a, i);
      const bc = debOrder(b, j);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a.charCodeAt(i) === 48) i++;
    while (b.charCodeAt(j) === 48) j++;
    while (digitAt(a, i) && digitAt(b, j)) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (digitAt(a, i)) return 1;
    if (digitAt(b, j)) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

interface Evr {
  epoch: string;
  version: string;
  release: string;
}

const evrCache = new Map<string, Evr>();

/** `[epoch:]version[-release]`, parsed once per distinct string (range checks repeat them). */
function splitEvr(v: string): Evr {
  let hit = evrCache.get(v);
  if (!hit) {
    hit = parseEvr(v);
    if (evrCache.size > 200_000) evrCache.clear();
    evrCache.set(v, hit);
  }
  return hit;
}

function parseEvr(v: string): Evr {
  const colon = v.indexOf(':');
  const hasEpoch = colon > 0 && /^\d+$/.test(v.slice(0, colon));
  const epoch = hasEpoch ? v.slice(0, colon) : '0';
  const rest = hasEpoch ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return dash > 0
    ? { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) }
    : { epoch, version: rest, release: '' };
}

/** Debian `[epoch:]upstream[-revision]` ordering. */
export function compareDebian(a: string, b: string): number {
  const x = splitEvr(a);
  const y = splitEvr(b);
  return (
    Math.sign(compareDigits(x.epoch, y.epoch)) ||
    Math.sign(debPart(x.version, y.version)) ||
    Math.sign(debPart(x.release, y.release))
  );
}

function isAlnum(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9]/.test(c);
}

/** rpmvercmp (rpmio/rpmvercmp.c): alphanumeric segments, `~` before and `^` after the end. */
function rpmPart(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== '~' && b[j] !== '^') j++;
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = /\d/.test(a[i]!);
    const re = numeric ? /\d/ : /[A-Za-z]/;
    let ei = i;
    let ej = j;
    while (ei < a.length && re.test(a[ei]!)) ei++;
    while (ej < b.length && re.test(b[ej]!)) ej++;
    const sa = a.slice(i, ei);
    const sb = b.slice(j, ej);
    // A numeric segment is newer than an alphabetic one.
    if (sb === '') return numeric ? 1 : -1;
    const c = numeric ? compareDigits(sa, sb) : sa < sb ? -1 : sa > sb ? 1 : 0;
    if (c !== 0) return c;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/** RPM `[epoch:]version[-release]` ordering. */
export function compareRpm(a: string, b: string): number {
  const x = splitEvr(a);
  const y = splitEvr(b);
  return (
    Math.sign(compareDigits(x.epoch, y.epoch)) ||
    Math.sign(rpmPart(x.version, y.version)) ||
    Math.sign(rpmPart(x.release, y.release))
  );
}

export function comparatorFor(scheme: VersionScheme): Comparator {
  switch (scheme) {
    case 'semver':
      return compareSemver;
    case 'deb':
      return compareDebian;
    case 'rpm':
      return compareRpm;
    default:
      return compareGeneric;
  }
}
