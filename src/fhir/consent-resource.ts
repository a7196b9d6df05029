import type { ConsentRecord } from '../access/consent.ts';

const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
export const DATA_CATEGORY_SYSTEM = 'urn:vigil:data-category';

/** Vigil's consent purposes as v3 PurposeOfUse codes (the R4 Consent.provision.purpose binding). */
export const PURPOSE_OF_USE: Record<string, { code: string; display: string }> = {
  treatment: { code: 'TREAT', display: 'treatment' },
  research: { code: 'HRESCH', display: 'healthcare research' },
  quality: { code: 'HQUALIMP', display: 'health quality improvement' },
  payment: { code: 'HPAYMT', display: 'healthcare payment' },
  'public-health': { code: 'PUBHLTH', display: 'public health' },
  'patient-request': { code: 'PATRQT', display: 'patient requested' },
};

const CATEGORY_DISPLAY: Record<string, string> = {
  'vital-signs': 'Vital signs and device readings',
  alerts: 'Clinical alerts',
  identity: 'Name and date of birth',
  device: 'Devices worn',
};

/**
 * A consent record as R4 Consent (http://hl7.org/fhir/R4/consent.html): a privacy consent
 * (scope patient-privacy) whose one provision permits or denies the listed purposes and data
 * classes over a period. "*" (every purpose or class) is the absence of that restriction, as
 * R4 reads a provision without purpose or class. A revoked record is inactive.
 */
export function toFhirConsent(patientId: string, c: ConsentRecord) {
  const purposes = c.purposes.includes('*') ? [] : c.purposes;
  const categories = c.categories.includes('*') ? [] : c.categories;
  return {
    resourceType: 'Consent' as const,
    id: c.id,
    status: c.status === 'active' ? 'active' : 'inactive',
    scope: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/consentscope',
          code: 'patient-privacy',
          display: 'Privacy Consent',
        },
      ],
    },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' }] }],
    patient: { reference: `Patient/${patientId}` },
    dateTime: new Date(c.recordedAt).toISOString(),
    // R4 invariant ppc-1 wants a policy or policyRule: a permit is an authorization, a deny a
    // restriction the patient asked for (HIPAA 164.508 and 164.522).
    policyRule: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/consentpolicycodes',
          code: c.decision === 'permit' ? 'hipaa-auth' : 'hipaa-restrictions',
        },
      ],
    },
    provision: {
      type: c.decision,
      period: {
        start: new Date(c.periodStart).toISOString(),
        ...(c.periodEnd === null ? {} : { end: new Date(c.periodEnd).toISOString() }),
      },
      ...(purposes.length > 0
        ? {
            purpose: purposes.map((p) => ({
              system: ACT_REASON,
              code: PURPOSE_OF_USE[p]?.code ?? p,
              display: PURPOSE_OF_USE[p]?.display ?? p,
            })),
          }
        : {}),
      ...(categories.length > 0
        ? {
            class: categories.map((k) => ({
              system: DATA_CATEGORY_SYSTEM,
              code: k,
              display: CATEGORY_DISPLAY[k] ?? k,
            })),
          }
        : {}),
    },
  };
}
