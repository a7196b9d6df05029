import type { AuditLog } from '../audit/audit-log.ts';
import { VigilError } from '../errors/catalogue.ts';
import { accessBasis } from './access-facts.ts';
import type { Category, ConsentRecord } from './consent.ts';
import type { PatientAccess, Requester } from './patient-access.ts';
import {
  hidesRefusals,
  isAbsenceDisclosed,
  isRefusalHidden,
  mayKnowEveryPatient,
} from './patient-existence.ts';
import type { PatientScope } from './readable-patients.ts';
import type { Identity } from './session-guard.ts';

/**
 * What routes use before they touch a patient's data: `mayRead` throws 403 (with a denied audit
 * entry) unless the caller may read the patient, and 404 for an unknown patient and 410 for an
 * erased one where the caller may know that (patient-existence.ts; a clinician probing ids gets
 * the 403 a patient outside their care team gets; an integration gets for a patient whose
 * consent refuses it the 404 of an unknown id, after the denied audit entry); `readable`
 * narrows a list to the patients the caller may see, and `readablePatients` gives them all as a
 * scope a query filters by. Routes get no other way to a patient's data key. (Consent records
 * need no key and pass `readConsents` below.)
 */
export interface PatientGate {
  mayRead(
    identity: Identity | undefined,
    patientId: string,
    source?: string,
    category?: Category,
  ): Promise<void>;
  /** `category`: what the list discloses ('alerts' for alert lists; readings by default). */
  readable(
    identity: Identity | undefined,
    patientIds: Iterable<string>,
    category?: Category,
  ): Promise<Set<string>>;
  /** Every patient the caller may see in `category`, as a scope a list query applies in SQL. */
  readablePatients(identity: Identity | undefined, category?: Category): Promise<PatientScope>;
}

export function requesterOf(identity: Identity | undefined): Requester {
  if (!identity) throw new VigilError('VIGIL_ERR_AUTH_REQUIRED', 'sign in or send a bearer token');
  return { role: identity.role, name: identity.name, actor: identity.actor };
}

/** What the gate needs to know of patients: unknown ones answer 404, erased ones 410. */
export interface PatientRegistry {
  exists(id: string): Promise<boolean>;
  isErased(id: string): Promise<boolean>;
}

/** The refusal of an id that names no registered patient, wherever a read path gives one. */
export const unknownPatient = (patientId: string) =>
  new VigilError('VIGIL_ERR_PATIENT_UNKNOWN', `patient ${patientId} is not registered`);

/** The entry every refused read of a patient leaves, whatever the reason or the read path. */
const auditDenied = (audit: AuditLog, who: Requester, patientId: string, source: string | undefined) =>
  audit.append({
    actor: who.actor,
    action: 'patient.access',
    patientId,
    resource: `Patient/${patientId}`,
    outcome: 'denied',
    source,
  });

export function createPatientGate(
  access: PatientAccess,
  audit: AuditLog,
  loadKey: (id: string) => Promise<void>,
): PatientGate {
  return {
    async mayRead(identity, patientId, source, category = 'vital-signs') {
      const who = requesterOf(identity);
      // One query for everything the decision needs: this runs on every patient-data request.
      const facts = await access.facts(who, patientId);
      // An unknown patient must not get a key made; an erased one answers 410 (from loadKey).
      // A caller who may not learn which ids exist is refused below as for any patient outside
      // their care team instead: the same query, the same 403, the same denied audit entry.
      if (facts.patient !== 'active' && isAbsenceDisclosed(who.role, facts)) {
        if (facts.patient === 'erased') await loadKey(patientId);
        // A caller told a refusing patient is unknown (below) pays the same audit entry for an
        // unknown id: its time does not tell the two apart either.
        if (hidesRefusals(who.role)) await auditDenied(audit, who, patientId, source);
        throw unknownPatient(patientId);
      }
      try {
        access.decide(who, patientId, facts, 'treatment', category);
        // Not reached for a patient who is not active: nobody undisclosed holds a link or a grant.
        if (facts.patient !== 'active') throw unknownPatient(patientId);
      } catch (e) {
        if (e instanceof VigilError && e.code === 'VIGIL_ERR_AUTH_FORBIDDEN') {
          // A refused read of a real patient is audited, however it is answered.
          await auditDenied(audit, who, patientId, source);
          if (isRefusalHidden(who.role, facts.consents, Date.now())) throw unknownPatient(patientId);
        }
        throw e;
      }
      await loadKey(patientId);
    },
    readable: (identity, patientIds, category = 'vital-signs') =>
      access.readable(requesterOf(identity), patientIds, category),
    readablePatients: (identity, category = 'vital-signs') =>
      access.readablePatients(requesterOf(identity), category),
  };
}

/**
 * A patient's consent records, for the REST and FHIR consent reads. Whoever may know every
 * patient (administrators record consents, auditors answer patients' requests) reads any
 * registered patient's, and gets 404 for an unknown or erased id. Anyone else needs what
 * mayRead asks before the consent (a care-team link or their own running break-glass grant,
 * accessBasis) and nothing more: a clinician must see the consent that keeps them out of a
 * patient of their team. Without that, a patient's privacy choices are refused as their data
 * is: the same 403, the same detail (the emergency-access offer), the same denied audit entry,
 * for a foreign patient and for an id that names nobody alike, so the records cannot tell which
 * ids exist. The records come from the decision's own query: one query, as in mayRead.
 */
export async function readConsents(
  access: PatientAccess,
  audit: AuditLog,
  identity: Identity | undefined,
  patientId: string,
  source?: string,
): Promise<ConsentRecord[]> {
  const who = requesterOf(identity);
  const facts = await access.facts(who, patientId);
  if (mayKnowEveryPatient(who.role)) {
    // An erased patient's records stay on file (revoked or not) but are gone with them.
    if (facts.patient !== 'active') throw unknownPatient(patientId);
    return facts.consents;
  }
  try {
    accessBasis(who, patientId, facts, 'treatment');
  } catch (e) {
    if (e instanceof VigilError && e.code === 'VIGIL_ERR_AUTH_FORBIDDEN')
      await auditDenied(audit, who, patientId, source);
    throw e;
  }
  // An erased patient gets this far only with the caller's own link or grant: they knew the id,
  // and are told the patient is gone, as mayRead tells them (410).
  if (facts.patient !== 'active')
    throw new VigilError(
      'VIGIL_ERR_PATIENT_ERASED',
      `patient ${patientId} was erased; their consent records went with them`,
    );
  return facts.consents;
}
