import type { AccessFacts } from './access-facts.ts';
import { can, type Role } from './roles.ts';

/**
 * Whether a role may learn which patient ids are registered, so that an unknown id may answer
 * 404 (and an erased one 410). Administrators list every patient (GET /api/v1/patients), an
 * integration every patient but those refusing it, and whoever reads the audit trail (security
 * officer, auditor) finds every registration there as a patient.create entry. A clinician sees
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
