import type { Kysely } from 'kysely';
import type { PatientIdentity } from '../clinical/patients.store.ts';
import { seal } from '../crypto/aead.ts';
import type { KeyRing } from '../crypto/key-ring.ts';
import { VigilError } from '../errors/catalogue.ts';
import type { Schema } from '../store/schema.ts';

/**
 * FHIR update of a Patient: reseals the identity under the patient's key. PatientStore has no
 * update yet; the associated data ("patient-identity|<id>") must stay the one PatientStore
 * opens with, which fhir-patient.test.ts checks by reading the update back through it.
 * Belongs in PatientStore once that store grows an update of its own.
 */
export async function updatePatientIdentity(
  db: Kysely<Schema>,
  keys: KeyRing,
  id: string,
  identity: PatientIdentity,
): Promise<void> {
  checkIdentity(identity);
  const key = await keys.dataKey('patient', id);
  const sealed = seal(key, Buffer.from(JSON.stringify(identity)), `patient-identity|${id}`);
  const r = await db
    .updateTable('patients')
    .set({ sealed_identity: sealed })
    .where('id', '=', id)
    .where('erased_at', 'is', null)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1)
    throw new VigilError('VIGIL_ERR_PATIENT_UNKNOWN', `patient ${id} is not registered`);
}

/** The rules PatientStore.add applies to a new patient, applied to an update too. */
function checkIdentity(identity: PatientIdentity, nowMs = Date.now()): void {
  if (identity.name.trim() === '' || identity.name.length > 200)
    throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'patient name must be 1-200 characters');
  const birth = identity.birthDate;
  if (birth !== undefined) {
    const ms = Date.parse(`${birth}T00:00:00Z`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(birth) || Number.isNaN(ms) || ms > nowMs)
      throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'birth date must be a past date written YYYY-MM-DD');
  }
}
