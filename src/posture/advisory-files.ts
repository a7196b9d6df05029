/**
 * Recognises an advisory file (OSV, CSAF 2.0, CISA KEV, EPSS CSV, or an advisory typed in by
 * hand) and parses it; a refusal names the file and the JSON pointer, line and column.
 */
import { VigilError } from '../errors/catalogue.ts';
import { deviceKey, parseCsaf } from './advisory-csaf.ts';
import { isKevCatalog, parseEpssCsv, parseKev } from './advisory-kev.ts';
import { AdvisoryError, isObj, need, parseOsv } from './advisory-osv.ts';
import { describeLocation, excessNesting, parseJsonLocated } from './json-location.ts';
import type { Advisory, EpssScore, KevEntry, VexStatement } from './types.ts';
import { parseVers } from './version-range.ts';

export type AdvisoryKind = 'osv' | 'csaf' | 'kev' | 'epss' | 'manual';

export interface ParsedAdvisoryFile {
  kind: AdvisoryKind;
  advisories: Advisory[];
  kev: KevEntry[];
  epss: EpssScore[];
  vex: VexStatement[];
}

const empty = (kind: AdvisoryKind): ParsedAdvisoryFile => ({
  kind,
  advisories: [],
  kev: [],
  epss: [],
  vex: [],
});

/**
 * Vigil's own format for advisories typed in by hand, e.g. from a vendor letter:
 * `{ "vigilAdvisory": 1, "id", "summary", "cvss"?, "aliases"?, "affected": [{ "manufacturer",
 * "model", "versions"?, "vers"?, "fixed"? }] }`.
 */
export function parseManual(doc: unknown): Advisory {
  need(isObj(doc), '', 'must be an object');
  need(
    typeof doc.id === 'string' && /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(doc.id),
    '/id',
    'id must be 1-128 letters, digits, . _ : -',
  );
  need(
    typeof doc.summary === 'string' && doc.summary.length > 0,
    '/summary',
    'summary must be a non-empty string',
  );
  need(
    doc.cvss === undefined || (typeof doc.cvss === 'string' && doc.cvss.startsWith('CVSS:')),
    '/cvss',
    'cvss must be a CVSS:3.1/... or CVSS:4.0/... vector',
  );
  const aliases = doc.aliases ?? [];
  need(
    Array.isArray(aliases) && aliases.every((a) => typeof a === 'string'),
    '/aliases',
    'aliases must be an array of strings',
  );
  need(
    Array.isArray(doc.affected) && doc.affected.length > 0,
    '/affected',
    'affected must be a non-empty array',
  );
  const affected = doc.affected.map((a, i) => {
    const at = `/affected/${i}`;
    need(
      isObj(a) && typeof a.manufacturer === 'string' && typeof a.model === 'string',
      at,
      'each affected entry needs manufacturer and model strings',
    );
    const versions = a.versions ?? [];
    need(
      Array.isArray(versions) && versions.every((v) => typeof v === 'string'),
      `${at}/versions`,
      'versions must be an array of strings',
    );
    const vers = a.vers === undefined ? [] : [a.vers];
    if (typeof a.vers === 'string') {
      const parsed = parseVers(a.vers);
      need(typeof parsed !== 'string', `${at}/vers`, typeof parsed === 'string' ? parsed : '');
    } else need(a.vers === undefined, `${at}/vers`, 'vers must be a string such as vers:generic/<2.4.1');
    need(
      a.fixed === undefined || typeof a.fixed === 'string',
      `${at}/fixed`,
      'fixed must be a version string',
    );
    need(versions.length + vers.length > 0, at, 'say which versions are affected: versions or vers');
    return {
      key: deviceKey(a.manufacturer, a.model),
      versions: versions as string[],
      ranges: [],
      fixedVersions: typeof a.fixed === 'string' ? [a.fixed] : [],
      vers: vers as string[],
    };
  });
  return {
    id: doc.id,
    source: 'manual',
    aliases: aliases as string[],
    summary: doc.summary,
    cvssVector: typeof doc.cvss === 'string' ? doc.cvss : null,
    severityScore: null,
    affected,
    remediation: typeof doc.remediation === 'string' ? doc.remediation : null,
    modifiedMs: null,
  };
}

/** JSON arrays and objects inside one another; OSV and CSAF documents nest a dozen or so. */
export const MAX_ADVISORY_JSON_DEPTH = 200;

export function parseAdvisoryFile(text: string, name: string): ParsedAdvisoryFile {
  const refuse = (where: string, reason: string): never => {
    throw new VigilError('VIGIL_ERR_POSTURE_BAD_ADVISORY', `${name} ${where}: ${reason}`);
  };
  if (name.toLowerCase().endsWith('.csv')) {
    try {
      return { ...empty('epss'), epss: parseEpssCsv(text) };
    } catch (e) {
      if (e instanceof AdvisoryError) return refuse(`at ${e.pointer}`, e.message);
      return refuse(
        'in the CSV',
        `could not be read: ${e instanceof Error ? e.message.slice(0, 200) : 'unknown failure'}`,
      );
    }
  }
  const deep = excessNesting(text, MAX_ADVISORY_JSON_DEPTH);
  if (deep)
    return refuse(
      `at line ${deep.line}, column ${deep.column}`,
      `nested deeper than ${MAX_ADVISORY_JSON_DEPTH} arrays and objects`,
    );
  const parsed = parseJsonLocated(text);
  if (!parsed.ok) return refuse(parsed.where, `not JSON: ${parsed.reason}`);
  const doc = parsed.value;
  try {
    if (isKevCatalog(doc)) return { ...empty('kev'), kev: parseKev(doc) };
    if (isObj(doc) && isObj(doc.document) && 'csaf_version' in doc.document) {
      const csaf = parseCsaf(doc);
      return { ...empty('csaf'), advisories: csaf.advisories, vex: csaf.vex };
    }
    if (isObj(doc) && 'vigilAdvisory' in doc) return { ...empty('manual'), advisories: [parseManual(doc)] };
    if (Array.isArray(doc) || (isObj(doc) && 'id' in doc && 'modified' in doc)) {
      return { ...empty('osv'), advisories: parseOsv(doc) };
    }
  } catch (e) {
    if (e instanceof AdvisoryError) return refuse(describeLocation(text, e.pointer), e.message);
    if (e instanceof VigilError) throw e;
    // Whatever else hostile input breaks is a refused file, never a server error.
    return refuse(
      'in the document',
      `could not be read: ${e instanceof Error ? e.message.slice(0, 200) : 'unknown failure'}`,
    );
  }
  return refuse(
    'at the document root',
    'not OSV (id, modified), CSAF 2.0 (document.csaf_version), a KEV catalog (catalogVersion) or a Vigil advisory (vigilAdvisory)',
  );
}
