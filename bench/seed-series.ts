/**
 * Benchmark fixtures shared by bench/queries.ts, authz.ts and export.ts: one patient wearing
 * one device, and days of 1 Hz readings written straight into the store the way ingest writes
 * them (a message a minute, 20 messages per commit, chunks sealed at the end).
 */
import type { Agent } from 'node:https';
import { request } from 'node:https';
import { type AcceptedMessage, SqliteObservationStore } from '../src/clinical/observations.store.ts';
import { PatientStore } from '../src/clinical/patients.store.ts';
import type { KeyRing } from '../src/crypto/key-ring.ts';
import { DeviceStore } from '../src/devices/devices.store.ts';
import { CodeRegistry } from '../src/ingest/vital-codes.ts';
import type { Store } from '../src/store/database.ts';

export interface SeriesFixture {
  patientId: string;
  name: string;
  birthDate?: string;
  deviceId: string;
  /** First reading; the device is assigned an hour before. */
  startMs: number;
  seconds: number;
  code: string;
  valueAt(second: number): number;
}

/** Registers the patient and device and writes the readings; returns the patient's data key. */
export async function seedSeries(store: Store, keys: KeyRing, f: SeriesFixture): Promise<Buffer> {
  const sqlite = store.sqlite;
  if (!sqlite) throw new Error('the benchmark fixtures need the SQLite store');
  await new PatientStore(store.db, keys).add(f.patientId, {
    name: f.name,
    ...(f.birthDate ? { birthDate: f.birthDate } : {}),
  });
  const devices = new DeviceStore(store.db);
  await devices.add({ id: f.deviceId, model: 'HR-1', serial: `SN-${f.deviceId}` });
  await devices.assign(f.deviceId, f.patientId, f.startMs - 3_600_000);
  const key = await keys.dataKey('patient', f.patientId);
  const registry = new CodeRegistry();
  const observations = new SqliteObservationStore(
    sqlite,
    (code) => registry.get(code)?.decimals ?? 3,
    () => key,
  );
  let batch: AcceptedMessage[] = [];
  for (let minute = 0; minute < f.seconds / 60; minute++) {
    const readings = Array.from({ length: 60 }, (_, i) => {
      const second = minute * 60 + i;
      return { code: f.code, value: f.valueAt(second), tsMs: f.startMs + second * 1000 };
    });
    batch.push({
      deviceId: f.deviceId,
      seq: minute + 1,
      hash: `bench-${minute}`,
      receivedMs: f.startMs + minute * 60_000,
      parts: [{ patientId: f.patientId, readings }],
    });
    if (batch.length === 20) {
      observations.commitBatch(batch);
      batch = [];
    }
  }
  if (batch.length > 0) observations.commitBatch(batch);
  observations.sealOpenChunks();
  return key;
}

/** One GET over a kept-alive HTTPS agent with a bearer token, trusting Vigil's own CA. */
export function httpsGet(
  agent: Agent,
  ca: string,
  url: string,
  token: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}
