import { createHmac } from 'node:crypto';

/**
 * HIPAA Safe Harbor de-identification (45 CFR 164.514(b)(2)) of the resources a patient export
 * holds. Each builder keeps an allow-list of elements and rebuilds the resource from it, so an
 * element Vigil adds to a resource later is dropped here until someone decides it is safe.
 *
 * - Identifiers (patient, device, observation and consent ids, MRNs, serial numbers) become
 *   keyed pseudonyms: HMAC-SHA256 under a key from the key ring. The same patient gets the same
 *   pseudonym in every export (a study can follow them), and nobody without the key can
 *   compute or reverse it, unlike a plain hash of a guessable id.
 * - Names, telecom, photos, contacts and free text are removed; an address keeps only its state,
 *   country and the first three digits of its ZIP code ("000" for the sparsely populated
 *   prefixes the Census lists, 164.514(b)(2)(i)(B)).
 * - The birth date keeps its year; from age 90 the year goes too and the age is told only as
 *   the category "90+" (164.514(b)(2)(i)(C)).
 * - Every other date of the patient is shifted by one offset per patient, a whole number of
 *   days from 1 to 365 either way, derived from the same key: intervals between a patient's
 *   readings stay exact (time of day included), while the calendar dates are not real.
 */
export interface Deidentifier {
  patientId: string;
  /** The pseudonym that replaces an identifier of a kind ("patient", "device", ...). */
  pseudonym(kind: string, value: string): string;
  /** The patient's date offset in whole days (never 0). */
  shiftDays: number;
  shiftMs(ms: number): number;
  nowMs: number;
}

export const AGE_GROUP_EXTENSION = 'urn:vigil:fhir:extension:age-group';
export const PSEUDONYM_SYSTEM = 'urn:vigil:pseudonym';
const DAY_MS = 86_400_000;

/**
 * ZIP3 prefixes whose areas held 20,000 people or fewer in the 2000 census (HHS guidance on
 * 164.514(b)(2)(i)(B)); their first three digits are replaced by 000.
 */
export const RESTRICTED_ZIP3 = new Set([
  '036',
  '059',
  '063',
  '102',
  '203',
  '556',
  '692',
  '790',
  '821',
  '823',
  '830',
  '831',
  '878',
  '879',
  '884',
  '890',
  '893',
]);

export function createDeidentifier(key: Buffer, patientId: string, nowMs = Date.now()): Deidentifier {
  const mac = (text: string) => createHmac('sha256', key).update(text).digest();
  const shift = mac(`date-shift|${patientId}`);
  // 1..365 days, sign from another byte: no patient keeps their real dates.
  const days = (shift.readUInt32BE(0) % 365) + 1;
  const shiftDays = shift[4]! & 1 ? days : -days;
  // Patient and device pseudonyms repeat on every Observation of an export: compute them once.
  const memo = new Map<string, string>();
  const pseudonym = (kind: string, value: string) => {
    const key = `${kind}|${value}`;
    let p = memo.get(key);
    if (p === undefined) {
      p = `${kind.slice(0, 3)}-${mac(key).toString('hex').slice(0, 32)}`;
      if (kind !== 'observation') memo.set(key, p);
    }
    return p;
  };
  return {
    patientId,
    pseudonym,
    shiftDays,
    shiftMs: (ms) => ms + shiftDays * DAY_MS,
    nowMs,
  };
}

/** The first three ZIP digits, or 000 for a restricted prefix; undefined for a non-US code. */
export function zip3(postalCode: string): string | undefined {
  const m = /^\s*(\d{3})\d{2}(?:-?\d{4})?\s*$/.exec(postalCode);
  if (!m) return undefined;
  return RESTRICTED_ZIP3.has(m[1]!) ? '000' : m[1]!;
}

/** Whole years between a YYYY[-MM[-DD]] birth date and a moment. */
export function ageYears(birthDate: string, atMs: number): number {
  const [y, m = 1, d = 1] = birthDate.split('-').map(Number) as [number, number?, number?];
  const at = new Date(atMs);
  let age = at.getUTCFullYear() - y;
  if (at.getUTCMonth() + 1 < m || (at.getUTCMonth() + 1 === m && at.getUTCDate() < d)) age -= 1;
  return age;
}

type Json = Record<string, unknown>;
const ref = (d: Deidentifier, type: string, id: string) => ({
  reference: `${type}/${d.pseudonym(type.toLowerCase(), id)}`,
});
const refId = (reference: unknown) => String(reference).split('/').pop() ?? '';
const shiftIso = (d: Deidentifier, iso: string) => new Date(d.shiftMs(Date.parse(iso))).toISOString();

/** A Patient reduced to what Safe Harbor lets through. */
export function deidentifyPatient(p: Json, d: Deidentifier): Json {
  const id = d.pseudonym('patient', String(p.id));
  const out: Json = {
    resourceType: 'Patient',
    id,
    // The v3 security label REDACTED: information was removed from this resource.
    meta: {
      security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'REDACTED' }],
    },
    identifier: [{ system: PSEUDONYM_SYSTEM, value: id }],
  };
  if (typeof p.gender === 'string') out.gender = p.gender;
  if (typeof p.birthDate === 'string') {
    if (ageYears(p.birthDate, d.nowMs) >= 90) {
      out.extension = [{ url: AGE_GROUP_EXTENSION, valueString: '90+' }];
    } else {
      out.birthDate = p.birthDate.slice(0, 4);
    }
  }
  if (p.deceasedBoolean !== undefined || p.deceasedDateTime !== undefined) {
    out.deceasedBoolean = p.deceasedBoolean ?? true;
  }
  const addresses = Array.isArray(p.address) ? (p.address as Json[]) : [];
  const kept = addresses.flatMap((a) => {
    const zip = typeof a.postalCode === 'string' ? zip3(a.postalCode) : undefined;
    const address: Json = {
      ...(typeof a.state === 'string' ? { state: a.state } : {}),
      ...(zip ? { postalCode: zip } : {}),
      ...(typeof a.country === 'string' ? { country: a.country } : {}),
    };
    return Object.keys(address).length > 0 ? [address] : [];
  });
  if (kept.length > 0) out.address = kept;
  return out;
}

/** A Device without serial number or id; model and firmware describe a product, not a person. */
export function deidentifyDevice(dev: Json, d: Deidentifier): Json {
  const out: Json = { resourceType: 'Device', id: d.pseudonym('device', String(dev.id)) };
  for (const k of ['status', 'statusReason', 'modelNumber', 'version', 'type'] as const) {
    if (dev[k] !== undefined) out[k] = dev[k];
  }
  const patient = dev.patient as { reference?: string } | undefined;
  if (patient?.reference) out.patient = ref(d, 'Patient', refId(patient.reference));
  return out;
}

/** An Observation with pseudonymous id and references and its time shifted. */
export function deidentifyObservation(o: Json, d: Deidentifier): Json {
  const out: Json = { resourceType: 'Observation', id: d.pseudonym('observation', String(o.id)) };
  for (const k of ['meta', 'status', 'category', 'code', 'valueQuantity'] as const) {
    if (o[k] !== undefined) out[k] = o[k];
  }
  out.subject = ref(d, 'Patient', d.patientId);
  if (typeof o.effectiveDateTime === 'string') out.effectiveDateTime = shiftIso(d, o.effectiveDateTime);
  const device = o.device as { reference?: string } | undefined;
  if (device?.reference) out.device = ref(d, 'Device', refId(device.reference));
  return out;
}

/** A Consent with pseudonymous id and patient, and its dates shifted like the readings. */
export function deidentifyConsent(c: Json, d: Deidentifier): Json {
  const out: Json = { resourceType: 'Consent', id: d.pseudonym('consent', String(c.id)) };
  for (const k of ['status', 'scope', 'category', 'policyRule'] as const) {
    if (c[k] !== undefined) out[k] = c[k];
  }
  out.patient = ref(d, 'Patient', d.patientId);
  if (typeof c.dateTime === 'string') out.dateTime = shiftIso(d, c.dateTime);
  const provision = c.provision as Json | undefined;
  if (provision) {
    const period = provision.period as { start?: string; end?: string } | undefined;
    out.provision = {
      ...provision,
      ...(period
        ? {
            period: {
              ...(period.start ? { start: shiftIso(d, period.start) } : {}),
              ...(period.end ? { end: shiftIso(d, period.end) } : {}),
            },
          }
        : {}),
    };
  }
  return out;
}
