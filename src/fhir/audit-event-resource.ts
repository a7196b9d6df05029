import type { AuditRow } from '../audit/audit-verify.ts';
import { PURPOSE_OF_USE } from './consent-resource.ts';
import { type AuditActionCode, VIGIL_ACTION_SYSTEM } from './export-params.ts';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';

/**
 * The verb of a Vigil action ("patient.export", "token.create.admin") as an R4 AuditEvent
 * action (C create, R read/view/print, U update, D delete, E execute). The verb is the first
 * segment after the domain that names one; anything else is an execution.
 */
const VERBS: Record<string, AuditActionCode> = {
  create: 'C',
  add: 'C',
  enroll: 'C',
  enrol: 'C',
  init: 'C',
  import: 'C',
  read: 'R',
  'read-latest': 'R',
  search: 'R',
  list: 'R',
  access: 'R',
  export: 'R',
  verify: 'R',
  report: 'R',
  update: 'U',
  assign: 'U',
  quarantine: 'U',
  release: 'U',
  permit: 'U',
  deny: 'U',
  revoke: 'U',
  rotate: 'U',
  put: 'U',
  replace: 'U',
  ack: 'U',
  snooze: 'U',
  erase: 'D',
  delete: 'D',
  remove: 'D',
};

export function auditActionCode(action: string): AuditActionCode {
  const segments = action.split('.');
  for (const s of segments.length > 1 ? segments.slice(1) : segments) {
    const code = VERBS[s];
    if (code) return code;
  }
  return 'E';
}

/** The DICOM audit event type (DICOM PS3.16 CID 400) the entry belongs to. */
function eventType(action: string): { code: string; display: string } {
  if (action.endsWith('.export')) return { code: '110106', display: 'Export' };
  if (action.startsWith('auth.') || action.startsWith('session.'))
    return { code: '110114', display: 'User Authentication' };
  if (action.endsWith('.search') || action.endsWith('.list')) return { code: '110112', display: 'Query' };
  if (action.endsWith('break-glass') || action.startsWith('device.quarantine'))
    return { code: '110113', display: 'Security Alert' };
  if (/^(patient|observation|consent|alert|stream)\./.test(action))
    return { code: '110110', display: 'Patient Record' };
  return { code: '110100', display: 'Application Activity' };
}

const OUTCOME: Record<string, { code: string; desc?: string }> = {
  success: { code: '0' },
  denied: { code: '4', desc: 'denied: the caller was not allowed' },
  failure: { code: '8', desc: 'failed' },
};

const REFERENCE = /^[A-Z][A-Za-z]{1,63}\/[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * One audit trail entry as R4 AuditEvent (http://hl7.org/fhir/R4/auditevent.html). The id is
 * the entry's sequence number in the hash chain; the chain hash rides along as an entity
 * detail, so a copy of the event can be checked against `vigil audit verify`.
 */
export function toFhirAuditEvent(row: AuditRow) {
  const type = eventType(row.action);
  const outcome = OUTCOME[row.outcome] ?? { code: '8', desc: row.outcome };
  const purpose = row.purpose ? PURPOSE_OF_USE[row.purpose] : undefined;
  const entities = [];
  if (row.patient_id) {
    entities.push({
      what: { reference: `Patient/${row.patient_id}` },
      type: {
        system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
        code: '1',
        display: 'Person',
      },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
    });
  }
  if (row.resource !== `Patient/${row.patient_id}`) {
    entities.push(
      REFERENCE.test(row.resource)
        ? { what: { reference: row.resource } }
        : { name: row.resource.slice(0, 500) },
    );
  }
  entities.push({
    name: 'audit-chain',
    detail: [{ type: 'hash', valueString: row.hash }],
  });
  return {
    resourceType: 'AuditEvent' as const,
    id: String(row.seq),
    type: { system: DCM, code: type.code, display: type.display },
    subtype: [{ system: VIGIL_ACTION_SYSTEM, code: row.action }],
    action: auditActionCode(row.action),
    recorded: new Date(row.ts).toISOString(),
    outcome: outcome.code,
    ...(outcome.desc ? { outcomeDesc: outcome.desc } : {}),
    ...(row.purpose
      ? {
          purposeOfEvent: [
            purpose
              ? {
                  coding: [
                    {
                      system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
                      code: purpose.code,
                      display: purpose.display,
                    },
                  ],
                  text: row.purpose,
                }
              : { text: row.purpose.slice(0, 500) },
          ],
        }
      : {}),
    agent: [
      {
        who: { identifier: { system: 'urn:vigil:actor', value: row.actor }, display: row.actor },
        requestor: true,
        ...(row.source ? { network: { address: row.source, type: '2' } } : {}),
      },
    ],
    source: {
      observer: { display: 'Vigil' },
      type: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/security-source-type',
          code: '4',
          display: 'Application Server',
        },
      ],
    },
    entity: entities,
  };
}
