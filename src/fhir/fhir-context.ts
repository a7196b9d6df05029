import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { ExportGate } from '../access/export-access.ts';
import type { PatientAccess } from '../access/patient-access.ts';
import type { PatientGate } from '../access/patient-gate.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { PatientStore } from '../clinical/patients.store.ts';
import type { SeriesReader } from '../clinical/series.ts';
import type { KeyRing } from '../crypto/key-ring.ts';
import type { SecurityEvents } from '../detection/security-events.ts';
import type { DeviceStore } from '../devices/devices.store.ts';
import type { CodeRegistry } from '../ingest/vital-codes.ts';
import type { Schema } from '../store/schema.ts';
import type { ObservationCreateDeps } from './observation-create.ts';
import type { EverythingSource } from './patient-everything.ts';

export interface FhirDeps {
  patients: PatientStore;
  devices: DeviceStore;
  series: SeriesReader;
  registry: CodeRegistry;
  audit: AuditLog;
  keys: KeyRing;
  db: Kysely<Schema>;
  ensurePatientKey(patientId: string): Promise<void>;
  /** Care team, consent, break-glass: asked before any patient's data is read. */
  gate: PatientGate;
  /** Patient/$everything: who may export (purpose, de-identified), and what it reads. */
  exportGate: ExportGate;
  everything: EverythingSource;
  /** Consent records, for the Consent resource. */
  access: PatientAccess;
  /** Exports on a patient's own request are reported here, as break-glass is. */
  events: SecurityEvents;
  /** After a device is added or reassigned here, ingest must know at once. */
  refreshDevices(): Promise<void>;
  version: string;
  /** What Observation create needs; without it the facade offers no create. */
  ingest?: ObservationCreateDeps;
}

export const FHIR_PREFIX = '/fhir/R4';
export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** The service base of this request, for fullUrl and links (Host checked to a plain host[:port]). */
export function baseUrl(request: FastifyRequest): string {
  const host = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$/.test(request.host)
    ? request.host
    : 'localhost';
  return `https://${host}${FHIR_PREFIX}`;
}

/** The request's own URL, absolute, for a Bundle's self link. */
export function selfUrl(request: FastifyRequest): string {
  return `${baseUrl(request)}${request.url.slice(FHIR_PREFIX.length)}`;
}

export function sendResource(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).type(FHIR_JSON).send(body);
}
