import type { SeriesRow } from '../clinical/series.ts';
import type { CodeRegistry } from '../ingest/vital-codes.ts';
import { observationId } from './observation-id.ts';

export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';
export const VITAL_SIGNS_PROFILE = 'http://hl7.org/fhir/StructureDefinition/vitalsigns';
const CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/observation-category';

/**
 * The LOINC codes of the R4 vital signs profile (http://hl7.org/fhir/R4/observation-vitalsigns.html)
 * among Vigil's known codes. Glucose is a laboratory observation in FHIR, not a vital sign, so
 * its Observations carry the laboratory category and claim no vital-signs profile.
 */
const VITAL_SIGN_CODES = new Set(['8867-4', '59408-5', '9279-1', '8310-5', '8480-6', '8462-4', '29463-7']);

export function isVitalSign(code: string): boolean {
  return VITAL_SIGN_CODES.has(code);
}

/** One stored reading as an R4 Observation (status final: a device reading is not revised). */
export function toFhirObservation(patientId: string, row: SeriesRow, registry: CodeRegistry) {
  const known = registry.get(row.code);
  const vital = isVitalSign(row.code);
  const category = vital
    ? { code: 'vital-signs', display: 'Vital Signs' }
    : { code: 'laboratory', display: 'Laboratory' };
  const unit = known?.canonicalUnit ?? '1';
  return {
    resourceType: 'Observation' as const,
    id: observationId(patientId, row),
    ...(vital ? { meta: { profile: [VITAL_SIGNS_PROFILE] } } : {}),
    status: 'final',
    category: [{ coding: [{ system: CATEGORY_SYSTEM, ...category }], text: category.display }],
    code: {
      coding: [{ system: LOINC, code: row.code, ...(known ? { display: known.display } : {}) }],
      ...(known ? { text: known.display } : {}),
    },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: new Date(row.tsMs).toISOString(),
    valueQuantity: { value: row.value, unit, system: UCUM, code: unit },
    device: { reference: `Device/${row.deviceId}` },
  };
}
