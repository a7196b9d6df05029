import type { AuditLog } from '../audit/audit-log.ts';
import { VigilError } from '../errors/catalogue.ts';
import type { Category } from './consent.ts';
import type { PatientAccess, Requester } from './patient-access.ts';
import { isAbsenceDisclosed } from './patient-existence.ts';
import type { PatientScope } from './readable-patients.ts';
import type { Identity } from './session-guard.ts';

/**
 * What routes use before they touch a patient's data: `mayRead` throws 403 (with a denied audit
 * entry) unless the caller may read the patient, and 404 for an unknown patient and 410 for an
 * erased one where the caller may know that (patient-existence.ts; a clinician probing ids gets
 * the 403 a patient outside their care team gets); `readable` narrows a list to the patients
 * the caller may see, and `readablePatients` gives them all as a scope a query filters by.
 * Routes get no other way to a patient's data key.
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
        throw new VigilError('VIGIL_ERR_PATIENT_UNKNOWN', `patient ${patientId} is not registered`);
      }
      try {
        access.decide(who, patientId, facts, 'treatment', category);
        // Not reached for a patient who is not active: nobody undisclosed holds a link or a grant.
        if (facts.patient !== 'active')
          throw new VigilError('VIGIL_ERR_PATIENT_UNKNOWN', `patient ${patientId} is not registered`);
      } catch (e) {
        if (e instanceof VigilError && e.code === 'VIGIL_ERR_AUTH_FORBIDDEN') {
          await audit.append({
            actor: who.actor,
            action: 'patient.access',
            patientId,
            resource: `Patient/${patientId}`,
            outcome: 'denied',
            source,
          });
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
