import type { Patient, PatientIdentity } from '../clinical/patients.store.ts';
import { VigilError } from '../errors/catalogue.ts';
import { fhirSchemaErrors } from './fhir-schema.ts';

/** Patient as R4: Vigil keeps a name and a birth date (both sealed), nothing more. */
export function toFhirPatient(p: Patient) {
  return {
    resourceType: 'Patient' as const,
    id: p.id,
    meta: { lastUpdated: new Date(p.createdAt).toISOString() },
    name: [{ text: p.name }],
    ...(p.birthDate ? { birthDate: p.birthDate } : {}),
  };
}

interface FhirHumanName {
  text?: string;
  family?: string;
  given?: string[];
}

const PATIENT_ELEMENTS = new Set(['resourceType', 'id', 'meta', 'text', 'name', 'birthDate']);

/** Reads a Patient body: valid R4 first, then only the elements Vigil can keep. */
export function fromFhirPatient(body: unknown): PatientIdentity & { id?: string } {
  const resource = requireResource(body, 'Patient', PATIENT_ELEMENTS);
  const names = (resource.name ?? []) as FhirHumanName[];
  const first = names[0];
  const name =
    first?.text ?? [...(first?.given ?? []), ...(first?.family ? [first.family] : [])].join(' ').trim();
  if (!name) throw invalid('a Patient needs a name (name[0].text, or given and family)');
  return {
    name,
    ...(typeof resource.birthDate === 'string' ? { birthDate: resource.birthDate } : {}),
    ...(typeof resource.id === 'string' ? { id: resource.id } : {}),
  };
}

export function invalid(detail: string): VigilError {
  return new VigilError('VIGIL_ERR_REQUEST_INVALID', detail);
}

/**
 * Checks a body against the R4 schema and its resourceType, and refuses elements Vigil would
 * otherwise drop silently (a server that loses part of what it was sent is worse than one
 * that says so).
 */
export function requireResource(
  body: unknown,
  resourceType: string,
  supported: ReadonlySet<string>,
): Record<string, unknown> {
  const errors = fhirSchemaErrors(body);
  if (errors.length > 0) throw invalid(`the body is not a valid R4 ${resourceType}: ${errors.join('; ')}`);
  const resource = body as Record<string, unknown>;
  if (resource.resourceType !== resourceType)
    throw invalid(`expected a ${resourceType}, got ${String(resource.resourceType).slice(0, 40)}`);
  const unsupported = Object.keys(resource).filter((k) => !supported.has(k));
  if (unsupported.length > 0) {
    throw invalid(
      `Vigil does not store ${resourceType}.${unsupported.slice(0, 5).join(', ')}; send only ${[...supported].join(', ')}`,
    );
  }
  return resource;
}
