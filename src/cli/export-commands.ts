import { type Command, InvalidArgumentError } from 'commander';
import type { ExportPurpose } from '../access/export-access.ts';
import { VigilError } from '../errors/catalogue.ts';
import { parsePurpose } from '../fhir/export-params.ts';
import { withCommon } from './context.ts';
import type { ExportFlags } from './export-actions.ts';

function purposeOption(value: string): ExportPurpose {
  try {
    return parsePurpose(value);
  } catch (e) {
    throw new InvalidArgumentError(e instanceof VigilError ? e.detail : String(e));
  }
}

/**
 * `vigil patient export <id>`: the same Bundle as GET /fhir/R4/Patient/{id}/$everything, from
 * the local store, as an operator console does. The operator holds the master key, so no care
 * team applies, but the patient's consent for the purpose does (patient-request excepted), and
 * the export is audited as patient.export with the purpose.
 */
export function registerPatientExport(patient: Command): void {
  withCommon(
    patient
      .command('export')
      .description("export a patient's record as a FHIR R4 Bundle (Patient/$everything); audited")
      .argument('<id>', 'patient id'),
  )
    .option('--out <file>', 'write the Bundle to this file (mode 0600) instead of stdout')
    .option('--force', 'replace --out if it exists')
    .option(
      '--purpose <purpose>',
      'what for: treatment, research, quality, payment, public-health or patient-request',
      purposeOption,
      'treatment',
    )
    .option('--deidentified', 'HIPAA Safe Harbor: pseudonyms, shifted dates, birth year only')
    .option(
      '--reason <text>',
      "with --purpose patient-request (identified): the patient's request it answers, audited and reported",
    )
    .action(async (id: string, o: ExportFlags) => (await import('./export-actions.ts')).patientExport(id, o));
}
