import { decodeCursor, type ReadingKey } from '../clinical/series-cursor.ts';
import { VigilError } from '../errors/catalogue.ts';
import { isValidId } from '../errors/ids.ts';
import { LOINC } from './observation-resource.ts';

/** A query string as Fastify parses it: a repeated parameter becomes an array. */
export type RawQuery = Record<string, string | string[] | undefined>;

export const DEFAULT_COUNT = 100;
export const MAX_COUNT = 1000;

const invalid = (detail: string) => new VigilError('VIGIL_ERR_REQUEST_INVALID', detail);

/**
 * Every value of each parameter, refusing parameters the resource does not support. FHIR lets
 * a server ignore unknown parameters (R4 §3.1.1.4.1), but a search that silently drops a filter
 * answers more than was asked, so Vigil refuses instead, as with "Prefer: handling=strict".
 */
export function valuesOf(query: RawQuery, supported: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, raw] of Object.entries(query)) {
    if (raw === undefined) continue;
    const values = Array.isArray(raw) ? raw : [raw];
    if (name === '_format') {
      if (values.some((v) => !/^(json|application\/(fhir\+)?json)$/.test(v)))
        throw invalid('Vigil answers FHIR in JSON only; use _format=json or leave it out');
      continue;
    }
    if (!supported.includes(name)) {
      throw invalid(
        `search parameter ${name.slice(0, 40)} is not supported here; supported: ${supported.join(', ')}`,
      );
    }
    if (values.length > 10 || values.some((v) => v.length > 300)) throw invalid(`${name} is too long`);
    out.set(name, values);
  }
  return out;
}

function single(values: Map<string, string[]>, name: string): string | undefined {
  const v = values.get(name);
  if (v && v.length > 1) throw invalid(`${name} may be given once`);
  return v?.[0];
}

export function parseCount(values: Map<string, string[]>): number {
  const raw = single(values, '_count');
  if (raw === undefined) return DEFAULT_COUNT;
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_COUNT)
    throw invalid(`_count=${raw.slice(0, 20)} must be an integer from 1 to ${MAX_COUNT}`);
  return Number(raw);
}

/** A reference parameter ("p-1", "Patient/p-1" or an absolute URL ending so) to its id. */
export function parseReference(value: string, type: string, name: string): string {
  const m = new RegExp(`^(?:.*/)?(?:${type}/)?([A-Za-z0-9][A-Za-z0-9._-]{0,63})$`).exec(value);
  if (!m || (value.includes('/') && !value.includes(`${type}/`)))
    throw invalid(`${name}=${value.slice(0, 80)} is not a ${type} reference; use ${type}/<id>`);
  return m[1]!;
}

/** The _id parameter: a comma-separated list of ids. */
export function parseIds(values: Map<string, string[]>): Set<string> | undefined {
  const raw = values.get('_id');
  if (!raw) return undefined;
  const ids = raw.flatMap((v) => v.split(','));
  if (ids.some((id) => !isValidId(id)))
    throw invalid('_id must list ids of letters, digits, ".", "_" or "-"');
  return new Set(ids);
}

export function parseCursor(values: Map<string, string[]>): ReadingKey | undefined {
  const raw = single(values, '_cursor');
  return raw === undefined ? undefined : decodeCursor(raw, '_cursor');
}

const DATE_TIME =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

/**
 * A FHIR date search value ([prefix]date) as the inclusive range of instants its precision
 * covers (R4 §3.1.1.5.1-2): "2026-11-22" is the whole day, in UTC since it carries no zone.
 */
export function parseDateParam(value: string): { prefix: string; lowMs: number; highMs: number } {
  const m = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(.*)$/.exec(value)!;
  const prefix = m[1] ?? 'eq';
  const text = m[2]!;
  if (!['eq', 'gt', 'lt', 'ge', 'le'].includes(prefix))
    throw invalid(`date prefix ${prefix} is not supported; use eq, ge, le, gt or lt`);
  const d = DATE_TIME.exec(text);
  const bad = () =>
    invalid(`date=${value.slice(0, 40)} is not a FHIR date; use e.g. ge2026-11-22 or lt2026-11-22T10:00:00Z`);
  if (!d) throw bad();
  const [, y, mo, da, hh, mi, ss, frac, zone] = d;
  if (hh !== undefined && zone === undefined) throw bad();
  const year = Number(y);
  // Date.UTC reads years 0-99 as 1900-1999; no reading is that old anyway.
  if (year < 1000) throw bad();
  const month = mo === undefined ? 1 : Number(mo);
  const day = da === undefined ? 1 : Number(da);
  if (month < 1 || month > 12 || day < 1 || day > 31) throw bad();
  // Date.UTC and Date.parse roll 2026-11-31 over to December 1st: a day the month lacks is
  // refused, with or without a time.
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) throw bad();
  let lowMs: number;
  let highMs: number;
  if (hh === undefined) {
    lowMs = Date.UTC(year, month - 1, day);
    const next =
      mo === undefined
        ? Date.UTC(year + 1, 0, 1)
        : da === undefined
          ? Date.UTC(year, month, 1)
          : Date.UTC(year, month - 1, day + 1);
    highMs = next - 1;
  } else {
    lowMs = Date.parse(text);
    if (Number.isNaN(lowMs) || Number(hh) > 23 || Number(mi) > 59 || Number(ss ?? 0) > 59) throw bad();
    // Precision to the second (or minute) covers the whole second (or minute).
    const step = frac ? 1 : ss === undefined ? 60_000 : 1000;
    highMs = lowMs + step - 1;
  }
  return { prefix, lowMs, highMs };
}

export interface ObservationSearch {
  patientId: string;
  /** undefined: every code; empty: a code list that can match nothing (another system). */
  codes: Set<string> | undefined;
  fromMs: number;
  toMs: number;
  count: number;
  descending: boolean;
  after: ReadingKey | undefined;
}

export const OBSERVATION_PARAMS = ['patient', 'subject', 'code', 'date', '_count', '_sort', '_cursor'];

export function parseObservationSearch(query: RawQuery, nowMs: number): ObservationSearch {
  const values = valuesOf(query, OBSERVATION_PARAMS);
  const patient = single(values, 'patient');
  const subject = single(values, 'subject');
  const ids = [
    patient && parseReference(patient, 'Patient', 'patient'),
    subject && parseReference(subject, 'Patient', 'subject'),
  ].filter((x): x is string => typeof x === 'string');
  if (ids.length === 0)
    throw invalid(
      'an Observation search needs patient (or subject); searching every patient at once is not offered',
    );
  if (ids.length === 2 && ids[0] !== ids[1]) throw invalid('patient and subject name different patients');
  let codes: Set<string> | undefined;
  for (const value of values.get('code') ?? []) {
    // Several code parameters AND together; commas within one OR (R4 §3.1.1.4.7, §3.1.1.5.3).
    const these = new Set<string>();
    for (const token of value.split(',')) {
      const bar = token.indexOf('|');
      const system = bar < 0 ? undefined : token.slice(0, bar);
      const code = bar < 0 ? token : token.slice(bar + 1);
      // A code of another system is a valid search that matches nothing here (readings carry
      // LOINC codes only), so only LOINC codes are held to the LOINC shape.
      if (system !== undefined && system !== LOINC) continue;
      if (!/^[0-9]{1,7}-[0-9]$/.test(code))
        throw invalid(`code=${token.slice(0, 60)} is not a LOINC code; use ${LOINC}|8867-4`);
      these.add(code);
    }
    codes = codes ? new Set([...codes].filter((c) => these.has(c))) : these;
  }
  let fromMs = 0;
  let toMs = nowMs + 86_400_000;
  for (const value of values.get('date') ?? []) {
    const { prefix, lowMs, highMs } = parseDateParam(value);
    if (prefix === 'eq' || prefix === 'ge') fromMs = Math.max(fromMs, lowMs);
    if (prefix === 'eq' || prefix === 'le') toMs = Math.min(toMs, highMs);
    if (prefix === 'gt') fromMs = Math.max(fromMs, highMs + 1);
    if (prefix === 'lt') toMs = Math.min(toMs, lowMs - 1);
  }
  const sort = single(values, '_sort') ?? 'date';
  if (sort !== 'date' && sort !== '-date')
    throw invalid(`_sort=${sort.slice(0, 40)} is not supported; use date or -date`);
  return {
    patientId: ids[0]!,
    codes,
    fromMs,
    toMs,
    count: parseCount(values),
    descending: sort === '-date',
    after: parseCursor(values),
  };
}
