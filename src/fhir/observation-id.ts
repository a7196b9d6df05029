import { createHash } from 'node:crypto';
import type { ReadingKey } from '../clinical/series-cursor.ts';

/**
 * Observation ids. A reading has no row of its own (it lives inside a sealed chunk, and moves
 * from a staging row into a chunk when the chunk is sealed), so its id is built from what
 * never changes: the patient, the device, the code, the time and its ordinal among equal
 * readings, counted in order of value (storage order changes when a run is sealed). Patient and device ids are hashed (SHA-256, first 40 and 24 bits) to fit the FHIR
 * id limit of 64 characters ([A-Za-z0-9.-]) and to keep the id free of the patient's own id;
 * a read finds the patient by hash (observation-patients.ts).
 *
 * Layout: <patient hash 10 hex>.<device hash 6 hex>.<LOINC code>.<time, base 36 ms>.<ordinal>
 */
export interface ObservationRef {
  patientHash: string;
  deviceHash: string;
  code: string;
  tsMs: number;
  n: number;
}

const PATTERN = /^([0-9a-f]{10})\.([0-9a-f]{6})\.([0-9]{1,7}-[0-9])\.([0-9a-z]{1,11})\.([0-9]{1,6})$/;

// Every Observation of a page or an export hashes the same few ids: remember them (bounded).
const hashes = new Map<string, string>();
function memoHash(text: string, length: number): string {
  let h = hashes.get(text);
  if (h === undefined) {
    if (hashes.size >= 10_000) hashes.clear();
    h = sha256(text).slice(0, length);
    hashes.set(text, h);
  }
  return h;
}

export const patientHash = (patientId: string) => memoHash(`patient|${patientId}`, 10);
export const deviceHash = (deviceId: string) => memoHash(`device|${deviceId}`, 6);

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export function observationId(patientId: string, key: ReadingKey): string {
  return `${patientHash(patientId)}.${deviceHash(key.deviceId)}.${key.code}.${key.tsMs.toString(36)}.${key.n}`;
}

/** Parses an id from observationId; undefined for anything else. */
export function parseObservationId(id: string): ObservationRef | undefined {
  const m = PATTERN.exec(id);
  if (!m) return undefined;
  const tsMs = Number.parseInt(m[4]!, 36);
  if (!Number.isSafeInteger(tsMs) || tsMs > 8.64e15) return undefined;
  return { patientHash: m[1]!, deviceHash: m[2]!, code: m[3]!, tsMs, n: Number(m[5]) };
}
