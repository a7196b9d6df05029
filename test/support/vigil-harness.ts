import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import pino from 'pino';
import { ApiTokens } from '../../src/access/api-tokens.ts';
import { CareTeamStore } from '../../src/clinical/care-teams.store.ts';
import { loadConfig, type VigilConfig } from '../../src/config/config.ts';
import { type EnrolledCredentials, enrollDevice } from '../../src/devices/enroll-client.ts';
import { initDataDir } from '../../src/server/provision.ts';
import { type RunningVigil, type StartOptions, startVigil } from '../../src/server/vigil.ts';
import { type HttpsResult, httpsRequest } from './https-client.ts';

export interface Harness {
  vigil: RunningVigil;
  config: VigilConfig;
  dataDir: string;
  adminToken: string;
  /** Clinicians read observations; administrators manage but do not read patient data. */
  clinicianToken: string;
  caPem: string;
  baseUrl: string;
  mqttUrl: string;
  /** Puts a patient on the care team of the test clinician (enrol does it for its patient). */
  care(patientId: string): Promise<void>;
  /** Registers a patient (if given) and a device assigned to it, and enrols the device over HTTPS. */
  enrol(deviceId: string, patientId?: string, assignedFromMs?: number): Promise<EnrolledCredentials>;
  /** Calls the API as admin, or with another token; observation reads default to the clinician. */
  api(path: string, opts?: { method?: string; body?: unknown; token?: string }): Promise<HttpsResult>;
  /** Connects a device over mTLS MQTT 5; the client is ended by stop() if the test has not. */
  connect(creds: EnrolledCredentials, deviceId: string, opts?: Partial<IClientOptions>): Promise<MqttClient>;
  /** Stops Vigil and starts it again on the same data dir; `whileDown` runs in between. */
  restart(whileDown?: () => Promise<void>): Promise<void>;
  /** Ends the clients connect() opened, stops Vigil and removes a data dir it made. */
  stop(): Promise<void>;
}

const HARNESS_TEAM = 'harness-ward';

/** A real Vigil: fresh data dir, SQLite, embedded broker and HTTPS on free ports. */
export async function startHarness(
  opts: { dataDir?: string; env?: Record<string, string>; start?: Omit<StartOptions, 'log'> } = {},
): Promise<Harness> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'vigil-e2e-'));
  const config = loadConfig({
    env: {
      VIGIL_DATA_DIR: dataDir,
      VIGIL_HTTP_PORT: '0',
      VIGIL_MQTT_PORT: '0',
      VIGIL_LOG_LEVEL: 'silent',
      ...opts.env,
    },
  });
  const { adminToken } = await initDataDir(config);
  const log = pino({ level: process.env.VIGIL_TEST_LOG ?? 'silent' });
  let vigil = await startVigil(config, { log, pollMs: 100, ...opts.start });
  const clinician = await new ApiTokens(vigil.store.db).create({
    role: 'clinician',
    name: 'test-clinician',
    ttlSeconds: 3600,
  });
  // The test clinician reads patients through a care-team link, as a real one must.
  await new CareTeamStore(vigil.store.db).create(HARNESS_TEAM, 'Harness ward');
  await new CareTeamStore(vigil.store.db).setMembers(HARNESS_TEAM, ['test-clinician']);
  const connected: MqttClient[] = [];
  const h: Harness = {
    vigil,
    config,
    dataDir,
    adminToken,
    clinicianToken: clinician.token,
    caPem: vigil.caPem,
    get baseUrl() {
      return `https://127.0.0.1:${h.vigil.httpPort}`;
    },
    get mqttUrl() {
      return `mqtts://127.0.0.1:${h.vigil.mqttPort}`;
    },
    async care(patientId) {
      const team = await new CareTeamStore(h.vigil.store.db).get(HARNESS_TEAM);
      if (!team.patients.includes(patientId))
        await new CareTeamStore(h.vigil.store.db).addPatient(HARNESS_TEAM, patientId);
    },
    async enrol(deviceId, patientId, assignedFromMs = Date.now() - 3_600_000) {
      if (patientId && !(await h.vigil.patients.exists(patientId))) {
        await h.vigil.patients.add(patientId, { name: `Test ${patientId}` });
        await h.care(patientId);
      }
      await h.vigil.devices.add({ id: deviceId, model: 'TestOx', serial: `SN-${deviceId}` });
      if (patientId) await h.vigil.devices.assign(deviceId, patientId, assignedFromMs);
      const { token } = await h.vigil.devices.createEnrollmentToken(deviceId, 600);
      return enrollDevice({ serverUrl: h.baseUrl, caPem: h.caPem, deviceId, token });
    },
    api(path, o = {}) {
      return httpsRequest(`${h.baseUrl}${path}`, {
        ca: h.caPem,
        token: o.token ?? (path.includes('/observations') ? h.clinicianToken : h.adminToken),
        ...(o.method ? { method: o.method } : {}),
        ...(o.body === undefined ? {} : { body: JSON.stringify(o.body) }),
      });
    },
    connect(creds, deviceId, o = {}) {
      return new Promise((resolve, reject) => {
        const client = mqtt.connect(h.mqttUrl, {
          protocolVersion: 5,
          clientId: deviceId,
          key: creds.keyPem,
          cert: creds.certPem,
          ca: creds.caPem,
          rejectUnauthorized: true,
          reconnectPeriod: 0,
          connectTimeout: 5000,
          ...o,
        });
        client.once('connect', () => {
          connected.push(client);
          resolve(client);
        });
        client.once('error', (e) => {
          client.end(true);
          reject(e);
        });
        // A refused TLS handshake may surface only as a close, with no error event.
        client.once('close', () => {
          client.end(true);
          reject(new Error('connection closed before CONNACK'));
        });
      });
    },
    async restart(whileDown) {
      await h.vigil.stop();
      await whileDown?.();
      vigil = await startVigil(config, { log, pollMs: 100, ...opts.start });
      h.vigil = vigil;
    },
    async stop() {
      for (const c of connected.splice(0)) c.end(true);
      await h.vigil.stop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return h;
}

/** Publishes at QoS 1 and resolves with the PUBACK reason code (0 = stored). */
export function publishQos1(client: MqttClient, topic: string, payload: string | Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    client.publish(topic, payload, { qos: 1 }, (err, packet) => {
      const code =
        (packet as { reasonCode?: number } | undefined)?.reasonCode ??
        (err as { code?: number } | undefined)?.code;
      if (err && typeof code !== 'number') reject(err);
      else resolve(typeof code === 'number' ? code : 0);
    });
  });
}

export function telemetry(
  seq: number,
  readings: Array<{ code: string; value: number; unit: string; ts?: string }>,
  ts = new Date(),
): string {
  return JSON.stringify({ seq, ts: ts.toISOString(), readings });
}
