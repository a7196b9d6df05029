import type { Kysely } from 'kysely';
import type { ConsentRecord } from '../access/consent.ts';
import type { PatientStore } from '../clinical/patients.store.ts';
import type { SeriesStore } from '../clinical/series.store.ts';
import type { SeriesReader } from '../clinical/series.ts';
import type { DeviceStore } from '../devices/devices.store.ts';
import { VigilError } from '../errors/catalogue.ts';
import type { CodeRegistry } from '../ingest/vital-codes.ts';
import type { Schema } from '../store/schema.ts';
import { toFhirConsent } from './consent-resource.ts';
import {
  type Deidentifier,
  deidentifyConsent,
  deidentifyDevice,
  deidentifyObservation,
  deidentifyPatient,
} from './deidentify.ts';
import { toFhirDevice } from './device-resource.ts';
import { toFhirObservation } from './observation-resource.ts';
import { toFhirPatient } from './patient-resource.ts';

/** What an export reads: the stores behind Patient, Device, Observation and Consent. */
export interface EverythingSource {
  db: Kysely<Schema>;
  patients: PatientStore;
  devices: DeviceStore;
  series: SeriesReader;
  seriesStore: SeriesStore;
  registry: CodeRegistry;
  consents(patientId: string): Promise<ConsentRecord[]>;
}

export interface EverythingOptions {
  /** The FHIR base for fullUrl, e.g. https://host:8443/fhir/R4. */
  baseUrl: string;
  /** The request URL for the self link; left out of de-identified bundles (it names the patient). */
  selfUrl?: string;
  deidentifier?: Deidentifier;
  /** Called every PROGRESS_EVERY observations, and once at the end. */
  onProgress?: (observations: number) => void;
  /** The Bundle's timestamp when identified; a de-identified Bundle carries none. */
  nowMs?: number;
}

export interface EverythingStats {
  observations: number;
  devices: number;
  consents: number;
}

type Resource = { resourceType: string; id: string } & Record<string, unknown>;

export const PROGRESS_EVERY = 100_000;
/** Readings decoded per step at most (by whole chunks): bounds memory whatever the record's size. */
const STEP_READINGS = 50_000;
const FIRST_STEP_MS = 6 * 3_600_000;
const MAX_STEP_MS = 90 * 86_400_000;
const FLUSH_BYTES = 64 * 1024;

/**
 * Patient/$everything (http://hl7.org/fhir/R4/patient-operation-everything.html) as a stream of
 * JSON text: a searchset Bundle with the Patient, every Device ever assigned to them, their
 * Consents, then every Observation in time order. Observations are read in time steps sized
 * from the chunk index, so a record of millions of readings is never held in memory; the
 * caller writes each piece out as it comes (and the consumer's pace holds the reading back).
 */
export async function* everythingBundle(
  src: EverythingSource,
  patientId: string,
  opts: EverythingOptions,
  stats: EverythingStats = { observations: 0, devices: 0, consents: 0 },
): AsyncGenerator<string> {
  const d = opts.deidentifier;
  const patient = await src.patients.get(patientId);
  if (!patient) throw new VigilError('VIGIL_ERR_PATIENT_UNKNOWN', `Patient/${patientId} is not registered`);
  const devices = await devicesEverAssigned(src, patientId);
  const consents = await src.consents(patientId);
  let buffer = '{"resourceType":"Bundle","type":"searchset"';
  // A de-identified Bundle has no timestamp (optional in R4): the export time shifted by the
  // patient's offset, next to the receiver's own clock, gave the offset away to the day, and
  // with it every real date of this and every later export of the patient.
  if (!d) buffer += `,"timestamp":${JSON.stringify(new Date(opts.nowMs ?? Date.now()).toISOString())}`;
  if (opts.selfUrl && !d) buffer += `,"link":[{"relation":"self","url":${JSON.stringify(opts.selfUrl)}}]`;
  buffer += ',"entry":[';
  let first = true;
  const add = (resource: Resource, mode: 'match' | 'include') => {
    const entry = {
      fullUrl: `${opts.baseUrl}/${resource.resourceType}/${resource.id}`,
      resource,
      search: { mode },
    };
    buffer += (first ? '' : ',') + JSON.stringify(entry);
    first = false;
  };

  const p = toFhirPatient(patient) as unknown as Resource;
  add(d ? (deidentifyPatient(p, d) as Resource) : p, 'match');
  for (const device of devices) {
    const r = toFhirDevice(device) as unknown as Resource;
    add(d ? (deidentifyDevice(r, d) as Resource) : r, 'include');
    stats.devices += 1;
  }
  for (const consent of consents.sort((a, b) => a.recordedAt - b.recordedAt)) {
    const r = toFhirConsent(patientId, consent) as unknown as Resource;
    add(d ? (deidentifyConsent(r, d) as Resource) : r, 'include');
    stats.consents += 1;
  }
  yield buffer;
  buffer = '';

  for (const rows of readingSteps(src, patientId)) {
    for (const row of rows) {
      const r = toFhirObservation(patientId, row, src.registry) as unknown as Resource;
      add(d ? (deidentifyObservation(r, d) as Resource) : r, 'include');
      stats.observations += 1;
      if (stats.observations % PROGRESS_EVERY === 0) opts.onProgress?.(stats.observations);
      if (buffer.length >= FLUSH_BYTES) {
        yield buffer;
        buffer = '';
      }
    }
  }
  opts.onProgress?.(stats.observations);
  yield `${buffer}]}`;
}

/** Every device that ever measured the patient, current assignment or not, in id order. */
async function devicesEverAssigned(src: EverythingSource, patientId: string) {
  const rows = await src.db
    .selectFrom('device_assignments')
    .select('device_id')
    .distinct()
    .where('patient_id', '=', patientId)
    .orderBy('device_id')
    .execute();
  const out = [];
  for (const r of rows) {
    const device = await src.devices.get(r.device_id);
    // Device.patient names the current wearer: kept when it is this patient, left out when the
    // device has moved on (another patient's id has no place in this patient's export).
    if (device) out.push({ ...device, patientId: device.patientId === patientId ? patientId : null });
  }
  return out;
}

/**
 * The patient's readings, oldest first, in steps of time that each open at most about
 * STEP_READINGS readings: a step halves while the chunk index says it holds more, and doubles
 * after a sparse one. Steps split the time line, so equal timestamps never straddle two steps
 * and the ordinals (hence the Observation ids) are those a search gives.
 */
function* readingSteps(src: EverythingSource, patientId: string) {
  const span = readingSpan(src.seriesStore, patientId);
  if (!span) return;
  let fromMs = span.firstMs;
  let stepMs = FIRST_STEP_MS;
  while (fromMs <= span.lastMs) {
    while (
      stepMs > 1000 &&
      src.seriesStore.readingsInRange(patientId, fromMs, fromMs + stepMs - 1) > STEP_READINGS
    )
      stepMs = Math.floor(stepMs / 2);
    const rows = src.series.keyed(patientId, { fromMs, toMs: fromMs + stepMs - 1 });
    yield rows;
    fromMs += stepMs;
    if (rows.length < STEP_READINGS / 4) stepMs = Math.min(stepMs * 2, MAX_STEP_MS);
  }
}

function readingSpan(store: SeriesStore, patientId: string): { firstMs: number; lastMs: number } | undefined {
  let firstMs = Number.POSITIVE_INFINITY;
  let lastMs = Number.NEGATIVE_INFINITY;
  for (const s of store.chunkSpanPerCode(patientId).values()) {
    firstMs = Math.min(firstMs, s.firstMs);
    lastMs = Math.max(lastMs, s.lastMs);
  }
  const staged = store.stagedSpan(patientId);
  if (staged) {
    firstMs = Math.min(firstMs, staged.minMs);
    lastMs = Math.max(lastMs, staged.maxMs);
  }
  return Number.isFinite(firstMs) ? { firstMs, lastMs } : undefined;
}
