import type { Kysely } from 'kysely';
import { checkPatientIdentity, type PatientIdentity } from '../clinical/patients.store.ts';
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
  checkPatientIdentity(identity);
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
