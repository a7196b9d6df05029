import type { AccessFacts } from './access-facts.ts';
import { CATEGORIES, type ConsentRecord, evaluateConsent } from './consent.ts';
import { can, type Role } from './roles.ts';

/**
 * Whether a role may learn which patient ids are registered, so that an unknown id may answer
 * 404 (and an erased one 410). Administrators list every patient (GET /api/v1/patients), an
 * integration every patient but those refusing it (who answer it as unknown ids do:
 * isRefusalHidden), and whoever reads the audit trail (security officer, auditor) finds every
 * registration there as a patient.create entry. A clinician sees
 * only their care teams' and break-glass patients: for them 404 against 403 would tell which
 * ids outside their scope exist, so an unknown id answers as a patient outside their care team
 * does (403, the same detail, the same denied audit entry, the same emergency-access offer).
 */
export function mayKnowEveryPatient(role: Role): boolean {
  return role === 'admin' || role === 'integration' || can(role, 'audit:read');
}

/**
 * Whether a patient who is not active (unknown or erased) is answered as such (404, 410), or as
 * a refusal is: as such to a role that may know every patient, and to a caller the patient was
 * theirs (a care-team link or a running break-glass grant; they knew the id, and an erased
 * record should say it is gone). Anyone else is refused as for any patient outside their scope.
 */
export function isAbsenceDisclosed(role: Role, facts: AccessFacts): boolean {
  return mayKnowEveryPatient(role) || facts.onCareTeam || facts.breakGlassId !== undefined;
}

/**
 * Whether the role is told, for a patient who refuses it altogether, that the patient is unknown
 * (404) rather than refused (403): an integration, which may know every patient but those
 * refusing it (readable-patients.ts). A clinician's refusals stay 403: theirs is the answer an
 * unknown id gets too, and it leads to the emergency offer.
 */
export function hidesRefusals(role: Role): boolean {
  return role === 'integration';
}

/**
 * Whether this refusal is answered as an unknown id: for a role that hidesRefusals, when the
 * patient's consent refuses it treatment in every category, so that no list it may read (the
 * patient list, FHIR Patient search, alerts) shows the patient and a 403 would tell it they
 * exist. A patient refusing only some categories shows in another list anyway, and a 404 would
 * say something untrue (an integration might drop a patient it still sees): 403 says why.
 */
export function isRefusalHidden(role: Role, consents: readonly ConsentRecord[], nowMs: number): boolean {
  return (
    hidesRefusals(role) &&
    CATEGORIES.every((category) => !evaluateConsent(consents, 'treatment', category, nowMs).permit)
  );
}
