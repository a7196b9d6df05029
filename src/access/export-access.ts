import type { AuditLog } from '../audit/audit-log.ts';
import { VigilError } from '../errors/catalogue.ts';
import { type Category, type ConsentRecord, evaluateConsent, PURPOSES } from './consent.ts';
import { type PatientAccess, type Requester, reviewableReason } from './patient-access.ts';
import { mayKnowEveryPatient } from './patient-existence.ts';
import { type PatientRegistry, requesterOf } from './patient-gate.ts';
import type { Identity } from './session-guard.ts';

/**
 * Who may export a patient's whole record, and for what. On top of the `patients:export`
 * permission (clinician, auditor):
 *
 * - `patient-request` is the patient's own right of access and portability (HIPAA 45 CFR
 *   164.524, GDPR art. 15 and 20). The privacy officer (auditor role) handles it; consent does
 *   not restrict a patient's access to their own record. Identified, it needs a `reason` naming
 *   the request, which is audited and reported to the security officer: nothing else stands
 *   between the privacy officer and any patient's whole identified record, as nothing but a
 *   reason and that report stands behind break-glass.
 * - A clinician exports for a consented purpose (treatment by default) through the same
 *   care-team, consent and break-glass check as every read, for every data category the
 *   export discloses.
 * - An auditor otherwise gets only a de-identified export, and only for a purpose the
 *   patient's consent permits (research is denied until the patient says yes).
 */
export const EXPORT_PURPOSES = [...PURPOSES, 'patient-request'] as const;
export type ExportPurpose = (typeof EXPORT_PURPOSES)[number];

export interface ExportRequest {
  purpose: ExportPurpose;
  deidentified: boolean;
  /** The patient's request this export answers (exportReason); identified patient-request only. */
  reason?: string;
}

/** Example of a reason= that names a patient's request, for refusals and documentation. */
export const EXPORT_REASON_EXAMPLE = 'subject access request SAR-2026-114 received 2026-12-01';

/** A reason= as a break-glass reason is checked (reviewableReason): the request it answers. */
export function exportReason(reason: string): string {
  return reviewableReason(
    reason,
    'export reason',
    `naming the patient's request, e.g. reason=${EXPORT_REASON_EXAMPLE}`,
  );
}

/** Whether an export is identified and on the patient's own request: reasoned, audited, reported. */
export function isIdentifiedPatientRequest(req: Pick<ExportRequest, 'purpose' | 'deidentified'>): boolean {
  return req.purpose === 'patient-request' && !req.deidentified;
}

/** The audit entry's purpose: with the request it answers, where there is one, as break-glass's. */
export function auditedPurpose(req: ExportRequest): string {
  return req.reason === undefined ? req.purpose : `${req.purpose}: ${req.reason}`;
}

export function isExportPurpose(value: string): value is ExportPurpose {
  return (EXPORT_PURPOSES as readonly string[]).includes(value);
}

/** The data categories an export discloses: a de-identified one carries no identity. */
export function exportCategories(deidentified: boolean): Category[] {
  return deidentified ? ['vital-signs', 'device'] : ['identity', 'vital-signs', 'device'];
}

const forbidden = (detail: string) => new VigilError('VIGIL_ERR_AUTH_FORBIDDEN', detail);

/** Throws unless the consent records permit the export's purpose for every category it discloses. */
export function requireExportConsent(
  records: readonly ConsentRecord[],
  patientId: string,
  req: ExportRequest,
  nowMs: number,
): void {
  if (req.purpose === 'patient-request') return;
  for (const category of exportCategories(req.deidentified)) {
    const decision = evaluateConsent(records, req.purpose, category, nowMs);
    if (!decision.permit) throw forbidden(`patient ${patientId} may not be exported: ${decision.why}`);
  }
}

/** Grants or throws VIGIL_ERR_AUTH_FORBIDDEN saying why; the caller audits either way. */
export async function checkExport(
  access: PatientAccess,
  who: Requester,
  patientId: string,
  req: ExportRequest,
  nowMs = Date.now(),
): Promise<void> {
  if (who.role === 'auditor') {
    if (req.purpose !== 'patient-request' && !req.deidentified) {
      throw forbidden(
        `${who.actor} may export patient ${patientId} identified only on the patient's own request (purpose=patient-request); otherwise ask for _deidentify=safe-harbor`,
      );
    }
    if (isIdentifiedPatientRequest(req) && req.reason === undefined) {
      throw new VigilError(
        'VIGIL_ERR_REQUEST_INVALID',
        `an identified export on the patient's own request needs reason= naming that request (at least 20 characters, e.g. reason=${EXPORT_REASON_EXAMPLE}); it is recorded in the audit trail and reported to the security officer`,
      );
    }
    requireExportConsent(await access.consents(patientId), patientId, req, nowMs);
    return;
  }
  if (who.role === 'clinician') {
    if (req.purpose === 'patient-request') {
      throw forbidden("a patient's own export request is handled by the privacy officer (auditor role)");
    }
    for (const category of exportCategories(req.deidentified)) {
      await access.check(who, patientId, req.purpose, category, nowMs);
    }
    return;
  }
  throw forbidden(`the ${who.role} role exports no patient data`);
}

export interface ExportGate {
  /**
   * 403 (audited as a denied export) unless `checkExport` grants; 404 unknown and 410 erased
   * where the caller may know that (patient-existence.ts), else the 403 of any patient
   * outside their care team.
   */
  mayExport(
    identity: Identity | undefined,
    patientId: string,
    req: ExportRequest,
    source?: string,
  ): Promise<void>;
}

export function createExportGate(
  access: PatientAccess,
  audit: AuditLog,
  patients: PatientRegistry,
  loadKey: (id: string) => Promise<void>,
): ExportGate {
  return {
    async mayExport(identity, patientId, req, source) {
      const who = requesterOf(identity);
      const exists = await patients.exists(patientId);
      const absent = async () => {
        if (await patients.isErased(patientId)) await loadKey(patientId);
        throw new VigilError('VIGIL_ERR_PATIENT_UNKNOWN', `patient ${patientId} is not registered`);
      };
      if (!exists && mayKnowEveryPatient(who.role)) return absent();
      // Anyone else is judged as for a registered patient (the same queries): without a care-team
      // link or a grant, which an unknown id never has, that is the same denied export.
      try {
        await checkExport(access, who, patientId, req);
      } catch (e) {
        if (e instanceof VigilError && e.code === 'VIGIL_ERR_AUTH_FORBIDDEN') {
          await audit.append({
            actor: who.actor,
            action: 'patient.export',
            patientId,
            resource: `Patient/${patientId}/$everything`,
            purpose: auditedPurpose(req),
            outcome: 'denied',
            source,
          });
        }
        throw e;
      }
      // An erased patient the caller had a link to or a grant for: 410, as they knew the id.
      if (!exists) return absent();
      await loadKey(patientId);
    },
  };
}
