import {
  EXPORT_PURPOSES,
  type ExportPurpose,
  exportReason,
  isExportPurpose,
} from '../access/export-access.ts';
import { VigilError } from '../errors/catalogue.ts';
import { parseCount, parseDateParam, parseReference, type RawQuery, valuesOf } from './search-params.ts';

const invalid = (detail: string) => new VigilError('VIGIL_ERR_REQUEST_INVALID', detail);

function single(values: Map<string, string[]>, name: string): string | undefined {
  const v = values.get(name);
  if (v && v.length > 1) throw invalid(`${name} may be given once`);
  return v?.[0];
}

/** Parameters of Patient/$everything: Vigil's extensions `_deidentify`, `purpose` and `reason`. */
export interface EverythingQuery {
  purpose: ExportPurpose | undefined;
  deidentified: boolean;
  /** The patient's request a purpose=patient-request export answers (export-access.ts). */
  reason?: string;
}

export const EVERYTHING_PARAMS = ['_deidentify', 'purpose', 'reason'];

export function parsePurpose(value: string): ExportPurpose {
  if (!isExportPurpose(value))
    throw invalid(`purpose=${value.slice(0, 40)} is not one of ${EXPORT_PURPOSES.join(', ')}`);
  return value;
}

export function parseEverythingQuery(query: RawQuery): EverythingQuery {
  const values = valuesOf(query, EVERYTHING_PARAMS);
  const deidentify = single(values, '_deidentify');
  if (deidentify !== undefined && deidentify !== 'safe-harbor')
    throw invalid(`_deidentify=${deidentify.slice(0, 40)} is not supported; use _deidentify=safe-harbor`);
  const purposeRaw = single(values, 'purpose');
  const purpose = purposeRaw === undefined ? undefined : parsePurpose(purposeRaw);
  const reason = single(values, 'reason');
  if (reason === undefined) return { purpose, deidentified: deidentify !== undefined };
  // A reason stands for a patient's request: on another purpose it would be recorded as one.
  if (purpose !== 'patient-request')
    throw invalid("reason= names a patient's own request; give it with purpose=patient-request only");
  return { purpose, deidentified: deidentify !== undefined, reason: exportReason(reason) };
}

export const AUDIT_ACTION_SYSTEM = 'http://hl7.org/fhir/audit-event-action';
export const VIGIL_ACTION_SYSTEM = 'urn:vigil:audit-action';
export type AuditActionCode = 'C' | 'R' | 'U' | 'D' | 'E';

export interface AuditEventSearch {
  patientId: string | undefined;
  /** A reference "Type/id": entries whose resource is exactly it. */
  entity: string | undefined;
  fromMs: number | undefined;
  toMs: number | undefined;
  /** R4 AuditEvent.action codes; entries of any of them match. */
  actions: Set<AuditActionCode> | undefined;
  /** Vigil's own action name (AuditEvent.subtype), e.g. patient.export. */
  subtype: string | undefined;
  count: number;
  /** Paging: entries older than this sequence number (newest first). */
  beforeSeq: number | undefined;
}

export const AUDIT_EVENT_PARAMS = ['patient', 'entity', 'date', 'action', 'subtype', '_count', '_cursor'];

/** A token value with an optional system: the code when the system is absent or the expected one. */
function tokenCode(token: string, system: string): string | undefined {
  const bar = token.indexOf('|');
  if (bar < 0) return token;
  return token.slice(0, bar) === system || bar === 0 ? token.slice(bar + 1) : undefined;
}

export function parseAuditEventSearch(query: RawQuery): AuditEventSearch {
  const values = valuesOf(query, AUDIT_EVENT_PARAMS);
  const patient = single(values, 'patient');
  const entityRaw = single(values, 'entity');
  let entity: string | undefined;
  if (entityRaw !== undefined) {
    const m = /^(?:.*\/)?([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9][A-Za-z0-9._-]{0,63})$/.exec(entityRaw);
    if (!m) throw invalid(`entity=${entityRaw.slice(0, 80)} is not a reference; use e.g. Device/ox-1`);
    entity = `${m[1]}/${m[2]}`;
  }
  let fromMs: number | undefined;
  let toMs: number | undefined;
  for (const value of values.get('date') ?? []) {
    const { prefix, lowMs, highMs } = parseDateParam(value);
    const low = prefix === 'gt' ? highMs + 1 : lowMs;
    const high = prefix === 'lt' ? lowMs - 1 : highMs;
    if (prefix === 'eq' || prefix === 'ge' || prefix === 'gt') fromMs = Math.max(fromMs ?? low, low);
    if (prefix === 'eq' || prefix === 'le' || prefix === 'lt') toMs = Math.min(toMs ?? high, high);
  }
  let actions: Set<AuditActionCode> | undefined;
  for (const value of values.get('action') ?? []) {
    const these = new Set<AuditActionCode>();
    for (const token of value.split(',')) {
      const code = tokenCode(token, AUDIT_ACTION_SYSTEM);
      if (code !== undefined && !/^[CRUDE]$/.test(code))
        throw invalid(`action=${token.slice(0, 40)} is not an AuditEvent action; use C, R, U, D or E`);
      if (code !== undefined) these.add(code as AuditActionCode);
    }
    actions = actions ? new Set([...actions].filter((a) => these.has(a))) : these;
  }
  const subtypeRaw = single(values, 'subtype');
  let subtype: string | undefined;
  if (subtypeRaw !== undefined) {
    subtype = tokenCode(subtypeRaw, VIGIL_ACTION_SYSTEM);
    if (subtype === undefined || !/^[a-z][a-z0-9_.-]{0,99}$/.test(subtype))
      throw invalid(`subtype=${subtypeRaw.slice(0, 60)} is not a Vigil audit action such as patient.export`);
  }
  const cursor = single(values, '_cursor');
  if (cursor !== undefined && !/^[1-9]\d{0,14}$/.test(cursor))
    throw invalid('_cursor is not a page token from this server; follow the next link as it is');
  return {
    patientId: patient === undefined ? undefined : parseReference(patient, 'Patient', 'patient'),
    entity,
    fromMs,
    toMs,
    actions,
    subtype,
    count: parseCount(values),
    beforeSeq: cursor === undefined ? undefined : Number(cursor),
  };
}

export interface ConsentSearch {
  patientId: string;
  status: 'active' | 'inactive' | undefined;
}

export function parseConsentSearch(query: RawQuery): ConsentSearch {
  const values = valuesOf(query, ['patient', 'status']);
  const patient = single(values, 'patient');
  if (patient === undefined)
    throw invalid('a Consent search needs patient; searching every patient at once is not offered');
  const status = single(values, 'status');
  if (status !== undefined && status !== 'active' && status !== 'inactive')
    throw invalid(
      `status=${status.slice(0, 40)} is not a Consent status Vigil keeps; use active or inactive`,
    );
  return { patientId: parseReference(patient, 'Patient', 'patient'), status };
}
