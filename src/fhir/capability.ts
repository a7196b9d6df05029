import { DEFAULT_COUNT, MAX_COUNT } from './search-params.ts';

export const FHIR_VERSION = '4.0.1';

/**
 * The CapabilityStatement of what this facade really does: each interaction and search
 * parameter listed here has a route and a test behind it, and nothing else is claimed
 * (no history, no versioning, no XML, no conditional operations, no _include).
 */
export function capabilityStatement(
  baseUrl: string,
  software: { version: string; observationCreate: boolean },
) {
  const searchDoc = `Observation results sort with _sort=date or -date. Paging: _count (default ${DEFAULT_COUNT}, at most ${MAX_COUNT}) and the Bundle's next link. Unknown parameters are refused.`;
  return {
    resourceType: 'CapabilityStatement' as const,
    status: 'active',
    date: '2026-11-27',
    publisher: 'Vigil',
    kind: 'instance',
    software: { name: 'Vigil', version: software.version },
    implementation: { description: 'Vigil FHIR R4 facade', url: baseUrl },
    fhirVersion: FHIR_VERSION,
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        documentation: `Bearer tokens from "vigil token create"; each resource needs the matching Vigil permission. ${searchDoc}`,
        security: {
          cors: false,
          // Vigil API tokens are bearer tokens but not OAuth, so that code is not claimed.
          service: [
            { text: 'Bearer API token ("vigil token create") or a signed-in session' },
            ...(software.observationCreate
              ? [
                  {
                    coding: [
                      {
                        system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
                        code: 'Certificates',
                      },
                    ],
                    text: 'Device client certificate (Observation create)',
                  },
                ]
              : []),
          ],
        },
        resource: [
          {
            type: 'Patient',
            versioning: 'no-version',
            readHistory: false,
            updateCreate: true,
            interaction: [{ code: 'read' }, { code: 'search-type' }, { code: 'create' }, { code: 'update' }],
            searchParam: [{ name: '_id', type: 'token' }],
            operation: [
              {
                name: 'everything',
                definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
                documentation:
                  'GET only, one streamed searchset Bundle (no paging): Patient, every Device ever assigned, Consents, every Observation. Vigil parameters: purpose (treatment, research, quality, payment, public-health, patient-request; default treatment) and _deidentify=safe-harbor (HIPAA Safe Harbor: pseudonyms, shifted dates, birth year only).',
              },
            ],
          },
          {
            type: 'Device',
            versioning: 'no-version',
            readHistory: false,
            updateCreate: false,
            interaction: [{ code: 'read' }, { code: 'search-type' }, { code: 'create' }, { code: 'update' }],
            searchParam: [
              { name: '_id', type: 'token' },
              { name: 'patient', type: 'reference' },
            ],
          },
          {
            type: 'Observation',
            supportedProfile: ['http://hl7.org/fhir/StructureDefinition/vitalsigns'],
            versioning: 'no-version',
            readHistory: false,
            interaction: [
              { code: 'read' },
              { code: 'search-type' },
              ...(software.observationCreate
                ? [
                    {
                      code: 'create',
                      documentation: 'one reading, with the device client certificate (mutual TLS)',
                    },
                  ]
                : []),
            ],
            searchParam: [
              { name: 'patient', type: 'reference', documentation: 'patient or subject is required' },
              { name: 'subject', type: 'reference', documentation: 'patient or subject is required' },
              { name: 'code', type: 'token', documentation: 'http://loinc.org|<code>, comma for OR' },
              { name: 'date', type: 'date', documentation: 'prefixes eq, ge, le, gt, lt' },
            ],
          },
          {
            type: 'AuditEvent',
            documentation: 'The hash-chained audit trail, newest first; the id is the entry sequence number.',
            versioning: 'no-version',
            readHistory: false,
            interaction: [{ code: 'read' }, { code: 'search-type' }],
            searchParam: [
              { name: 'patient', type: 'reference' },
              { name: 'entity', type: 'reference', documentation: 'the entry resource, exactly' },
              { name: 'date', type: 'date', documentation: 'prefixes eq, ge, le, gt, lt' },
              { name: 'action', type: 'token', documentation: 'C, R, U, D or E; comma for OR' },
              { name: 'subtype', type: 'token', documentation: 'the Vigil action, e.g. patient.export' },
            ],
          },
          {
            type: 'Consent',
            versioning: 'no-version',
            readHistory: false,
            interaction: [{ code: 'read' }, { code: 'search-type' }],
            searchParam: [
              { name: 'patient', type: 'reference', documentation: 'required' },
              { name: 'status', type: 'token', documentation: 'active or inactive' },
            ],
          },
        ],
      },
    ],
  };
}
