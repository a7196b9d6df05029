/**
 * Benchmark fixtures shared by bench/queries.ts, authz.ts and export.ts: one patient wearing
 * one device, and days of 1 Hz readings written straight into the store the way ingest writes
 * them (a message a minute, 20 messages per commit, chunks sealed at the end).
 */
import type { Agent } from 'node:https';
import { request } from 'node:https';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { CareTeamStore } from '../src/clinical/care-teams.store.ts';
import { type AcceptedMessage, SqliteObservationStore } from '../src/clinical/observations.store.ts';
import { PatientStore } from '../src/clinical/patients.store.ts';
import { loadConfig, type VigilConfig } from '../src/config/config.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { loadMasterKeyFile } from '../src/crypto/master-key.ts';
import { DeviceStore } from '../src/devices/devices.store.ts';
import { CodeRegistry } from '../src/ingest/vital-codes.ts';
import { initDataDir } from '../src/server/provision.ts';
import { type RunningVigil, startVigil } from '../src/server/vigil.ts';
import { openStore, type Store } from '../src/store/database.ts';
import { onCleanup, tempDir } from './cleanup.ts';

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

export interface SeededVigil {
  vigil: RunningVigil;
  config: VigilConfig;
  /** A clinician's bearer token; the clinician reaches the patient through a care team. */
  token: string;
  /** Time spent seeding the series (ms). */
  seedMs: number;
}

/**
 * A Vigil on a fresh data dir holding one patient's seeded series, and a clinician who reads
 * that patient only through a care team, as in production. Stopped at bench cleanup.
 */
export async function startSeededVigil(opts: {
  dirPrefix: string;
  series: SeriesFixture;
  clinician: string;
  ward: { id: string; name: string };
}): Promise<SeededVigil> {
  const dir = tempDir(opts.dirPrefix);
  const config = loadConfig({
    env: {
      VIGIL_DATA_DIR: join(dir.path, 'data'),
      VIGIL_HTTP_PORT: '0',
      VIGIL_MQTT_PORT: '0',
      VIGIL_LOG_LEVEL: 'silent',
    },
  });
  await initDataDir(config);
  const store = await openStore({ dataDir: config.dataDir });
  let seedMs: number;
  try {
    const started = performance.now();
    await seedSeries(store, new KeyRing(store.db, loadMasterKeyFile(config.masterKeyFile)), opts.series);
    seedMs = performance.now() - started;
  } finally {
    await store.close();
  }
  const vigil = await startVigil(config, { log: pino({ level: 'silent' }) });
  onCleanup('vigil', () => vigil.stop());
  const { token } = await new ApiTokens(vigil.store.db).create({
    role: 'clinician',
    name: opts.clinician,
    ttlSeconds: 3600,
  });
  const teams = new CareTeamStore(vigil.store.db);
  await teams.create(opts.ward.id, opts.ward.name);
  await teams.setMembers(opts.ward.id, [opts.clinician]);
  await teams.addPatient(opts.ward.id, opts.series.patientId);
  return { vigil, config, token, seedMs };
}
