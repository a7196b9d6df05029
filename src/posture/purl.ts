/**
 * Package identity for matching: purl (package-url/purl-spec) parsed with packageurl-js, reduced
 * to a key of type, namespace and name; OSV ecosystems mapped to purl types and version schemes.
 */
import { PackageURL } from 'packageurl-js';
import type { VersionScheme } from './types.ts';

export interface ParsedPurl {
  key: string;
  type: string;
  version: string | null;
}

/** Names compare case-insensitively where the ecosystem does (npm, PyPI, NuGet, generic). */
function normalizeName(type: string, name: string): string {
  if (type === 'pypi') return name.toLowerCase().replace(/[-_.]+/g, '-');
  if (type === 'golang' || type === 'maven') return name;
  return name.toLowerCase();
}

export function purlKey(type: string, namespace: string | null | undefined, name: string): string {
  const t = type.toLowerCase();
  const ns = namespace ? (t === 'golang' || t === 'maven' ? namespace : namespace.toLowerCase()) : '';
  return `purl:${t}/${ns}/${normalizeName(t, name)}`;
}

/** Parses a purl; returns an error text (never throws) so callers can say where it was. */
export function parsePurl(text: string): ParsedPurl | string {
  try {
    const p = PackageURL.fromString(text);
    return { key: purlKey(p.type, p.namespace, p.name), type: p.type, version: p.version ?? null };
  } catch (e) {
    return `"${text.slice(0, 120)}" is not a valid purl: ${(e as Error).message}`;
  }
}

/** OSV ecosystem (ossf OSV schema, "Defined ecosystems") to purl type, namespace and ordering. */
const ECOSYSTEMS: Record<string, { type: string; namespace?: string; scheme: VersionScheme }> = {
  npm: { type: 'npm', scheme: 'semver' },
  'crates.io': { type: 'cargo', scheme: 'semver' },
  Go: { type: 'golang', scheme: 'semver' },
  Hex: { type: 'hex', scheme: 'semver' },
  Pub: { type: 'pub', scheme: 'semver' },
  PyPI: { type: 'pypi', scheme: 'generic' },
  Maven: { type: 'maven', scheme: 'generic' },
  NuGet: { type: 'nuget', scheme: 'semver' },
  RubyGems: { type: 'gem', scheme: 'generic' },
  Packagist: { type: 'composer', scheme: 'generic' },
  Debian: { type: 'deb', namespace: 'debian', scheme: 'deb' },
  Ubuntu: { type: 'deb', namespace: 'ubuntu', scheme: 'deb' },
  Alpine: { type: 'apk', namespace: 'alpine', scheme: 'generic' },
  'Red Hat': { type: 'rpm', namespace: 'redhat', scheme: 'rpm' },
  'Rocky Linux': { type: 'rpm', namespace: 'rocky-linux', scheme: 'rpm' },
  AlmaLinux: { type: 'rpm', namespace: 'almalinux', scheme: 'rpm' },
  openSUSE: { type: 'rpm', namespace: 'opensuse', scheme: 'rpm' },
  SUSE: { type: 'rpm', namespace: 'suse', scheme: 'rpm' },
  Mageia: { type: 'rpm', namespace: 'mageia', scheme: 'rpm' },
  'OSS-Fuzz': { type: 'generic', scheme: 'generic' },
  GIT: { type: 'generic', scheme: 'generic' },
};

/** "Debian:11" and "Debian" are the same ecosystem for matching; the release suffix is dropped. */
export function ecosystemInfo(ecosystem: string): {
  type: string;
  namespace?: string;
  scheme: VersionScheme;
} {
  const base = ecosystem.split(':')[0] ?? ecosystem;
  return ECOSYSTEMS[base] ?? { type: base.toLowerCase().replace(/[^a-z0-9.+-]/g, '-'), scheme: 'generic' };
}

/** The ordering a purl type's versions follow, for ECOSYSTEM ranges and `vers` checks. */
export function schemeForPurlType(type: string): VersionScheme {
  switch (type) {
    case 'npm':
    case 'cargo':
    case 'golang':
    case 'hex':
    case 'pub':
    case 'nuget':
      return 'semver';
    case 'deb':
      return 'deb';
    case 'rpm':
      return 'rpm';
    default:
      return 'generic';
  }
}
