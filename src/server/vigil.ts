import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import pino, { type Logger } from 'pino';
import { ApiTokens } from '../access/api-tokens.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { type AcceptedMessage, SqliteObservationStore } from '../clinical/observations.store.ts';
import { PatientStore } from '../clinical/patients.store.ts';
import { registerClinicalRoutes } from '../clinical/routes.ts';
import type { VigilConfig } from '../config/config.ts';
import { KeyRing } from '../crypto/key-ring.ts';
import { loadMasterKeyFile } from '../crypto/master-key.ts';
import { registerSecurityRoutes } from '../detection/routes.ts';
import { SecurityEvents } from '../detection/security-events.ts';
import { loadDeviceCa, loadServerTls } from '../devices/device-ca.ts';
import { DeviceDirectory } from '../devices/device-directory.ts';
import { identifyDevice } from '../devices/device-identity.ts';
import { DeviceStore } from '../devices/devices.store.ts';
import { Enrollment } from '../devices/enrollment.ts';
import { registerDeviceRoutes } from '../devices/routes.ts';
import { VigilError } from '../errors/catalogue.ts';
import type { DeviceId } from '../errors/ids.ts';
import { registerHttpIngest } from '../ingest/http-ingest.ts';
import { MqttGateway } from '../ingest/mqtt/gateway.ts';
import { IngestPipeline } from '../ingest/pipeline.ts';
import { decodeStatus } from '../ingest/status-decoder.ts';
import { CodeRegistry } from '../ingest/vital-codes.ts';
import { createMetrics, type Metrics } from '../observability/metrics.ts';
import { openStore, type Store } from '../store/database.ts';
import { GroupCommitter } from '../store/group-commit.ts';
import { startWalCheckpointer } from '../store/wal-checkpointer.ts';
import { createHttpServer, type RouteRecord } from './http.ts';
import { registerOpsRoutes } from './ops-routes.ts';

export interface RunningVigil {
  httpPort: number;
  mqttPort: number;
  caPem: string;
  routes: RouteRecord[];
  metrics: Metrics;
  store: Store;
  devices: DeviceStore;
  patients: PatientStore;
  directory: DeviceDirectory;
  pipeline: IngestPipeline;
  gateway: MqttGateway;
  /** Subscribe to durably stored messages (clinical rules, live stream, tests). */
  onStored(listener: (m: AcceptedMessage) => void): void;
  quarantine(deviceId: string, reason: string, actor: string): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  /** How often to look for changes made by other processes (CLI) and seal idle chunks. */
  pollMs?: number;
}

/** The composition root: builds every piece in order and stops them in reverse. */
export async function startVigil(config: VigilConfig, opts: StartOptions = {}): Promise<RunningVigil> {
  const log =
    opts.log ?? pino({ level: config.logLevel, redact: ['req.headers.authorization', 'token', 'csr'] });
  if (config.mqttUrl) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      'VIGIL_MQTT_URL (external broker) is not supported yet; unset it to use the embedded broker',
    );
  }
  const master = loadMasterKeyFile(config.masterKeyFile);
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  if (!store.sqlite) {
    await store.close();
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      'the PostgreSQL ingest path is not built yet; unset VIGIL_DATABASE_URL to use SQLite',
    );
  }
  const checkpointer = startWalCheckpointer(store.sqlite, {
    onError: (message) => log.warn({ message }, 'background WAL checkpoint failed'),
  });
  const keys = new KeyRing(store.db, master);
  const metrics = createMetrics();
  const audit = new AuditLog(store.db);
  const events = new SecurityEvents(store.db, log.child({ component: 'security' }), metrics);
  const ca = await loadDeviceCa(store.db, keys);
  const tls =
    config.tlsCertFile && config.tlsKeyFile
      ? {
          keyPem: readFileSync(config.tlsKeyFile, 'utf8'),
          certPem: readFileSync(config.tlsCertFile, 'utf8'),
          chainPem: '',
        }
      : await loadServerTls(store.db, keys);
  const serverCert = tls.chainPem ? `${tls.certPem.trim()}\n${tls.chainPem.trim()}\n` : tls.certPem;
  const deviceCaChain = [ca.root.certPem, ca.issuing.certPem];

  const registry = new CodeRegistry();
  const devices = new DeviceStore(store.db);
  const patients = new PatientStore(store.db, keys);
  const directory = new DeviceDirectory(devices);
  await directory.refresh();

  const keyOf = (patientId: string) => {
    const key = keys.cachedDataKey('patient', patientId);
    if (!key) throw new Error(`data key of patient ${patientId} is not loaded`);
    return key;
  };
  const ensurePatientKey = async (patientId: string) => {
    await keys.dataKey('patient', patientId);
  };
  const observations = new SqliteObservationStore(
    store.sqlite,
    (code) => registry.get(code)?.decimals ?? 3,
    keyOf,
  );
  for (const patientId of observations.stagedPatients()) await ensurePatientKey(patientId);
  observations.reloadOpenChunks();
  for (const m of observations.recentMessages()) directory.remember(m.deviceId, m);

  const committer = new GroupCommitter<AcceptedMessage>({
    windowMs: config.ingest.groupCommitMs,
    maxBatch: config.ingest.groupCommitMaxMessages,
    commit: (batch) => observations.commitBatch(batch),
    onCommitted: (batch, ms) => {
      metrics.commitSeconds.observe(ms / 1000);
      metrics.commitBatchSize.observe(batch.length);
    },
  });
  const storedListeners: Array<(m: AcceptedMessage) => void> = [];
  const pipeline = new IngestPipeline({
    registry,
    directory,
    keys,
    committer,
    metrics,
    limits: {
      maxPayloadBytes: config.ingest.maxPayloadBytes,
      maxFutureMs: config.ingest.maxFutureSeconds * 1000,
      maxPastMs: config.ingest.maxBackfillDays * 86_400_000,
    },
    lastStored: (deviceId) => observations.lastStored(deviceId),
    onStored: (m) => {
      for (const l of storedListeners) l(m);
    },
  });

  const gateway = new MqttGateway({
    tls: { key: tls.keyPem, cert: serverCert, ca: deviceCaChain },
    log: log.child({ component: 'mqtt' }),
    maxPayloadBytes: config.ingest.maxPayloadBytes,
    hooks: {
      identify: async (socket: TLSSocket) => identifyDevice(socket, directory) as DeviceId,
      onTelemetry: async (deviceId, payload) => {
        await pipeline.accept(deviceId, payload, 'mqtt');
      },
      onStatus: async (deviceId, payload) => {
        const status = decodeStatus(payload, { nowMs: Date.now() });
        await devices.updateStatus(deviceId, {
          seenMs: Date.now(),
          ...(status.firmware === undefined ? {} : { firmware: status.firmware }),
          ...(status.batteryPercent === undefined ? {} : { battery: status.batteryPercent }),
        });
      },
      onRefusal: (e) => events.record(e),
      onConnect: () => metrics.connectedDevices.set(gateway.connectedCount()),
      onDisconnect: () => metrics.connectedDevices.set(gateway.connectedCount()),
    },
  });

  const quarantine = async (deviceId: string, reason: string, actor: string) => {
    await devices.setQuarantine(deviceId, true, reason);
    directory.setStatus(deviceId, 'quarantined');
    gateway.disconnect(deviceId as DeviceId, 'VIGIL_ERR_DEVICE_QUARANTINED');
    await audit.append({
      actor,
      action: 'device.quarantine',
      resource: `Device/${deviceId}`,
      outcome: 'success',
    });
    events.record({
      code: 'VIGIL_ERR_DEVICE_QUARANTINED',
      detail: `device ${deviceId} quarantined by ${actor}`,
      deviceId,
    });
  };
  const release = async (deviceId: string, actor: string) => {
    await devices.setQuarantine(deviceId, false, null);
    await directory.refresh();
    await audit.append({
      actor,
      action: 'device.release',
      resource: `Device/${deviceId}`,
      outcome: 'success',
    });
  };

  const tokens = new ApiTokens(store.db);
  const { app, routes } = await createHttpServer({
    tls: { key: tls.keyPem, cert: serverCert, ca: deviceCaChain },
    log,
    metrics,
    tokens,
  });
  registerOpsRoutes(app, metrics, () => ({ mqtt: true, store: store.sqlite?.open ?? true }));
  registerDeviceRoutes(app, {
    devices,
    enrollment: new Enrollment(devices, ca, audit, config.deviceCertValidityDays, async () => {
      await directory.refresh();
    }),
    audit,
    quarantine,
    release,
  });
  registerClinicalRoutes(app, { patients, observations, registry, audit, ensurePatientKey });
  registerSecurityRoutes(app, events);
  await registerHttpIngest(app, {
    pipeline,
    directory,
    events,
    maxPayloadBytes: config.ingest.maxPayloadBytes,
  });

  const mqttPort = await gateway.listen(config.mqttPort, config.host);
  await app.listen({ port: config.httpPort, host: config.host });
  const address = app.server.address();
  const httpPort = typeof address === 'object' && address ? address.port : config.httpPort;

  // Other processes (the CLI) change devices directly in the store; pick that up and act on it.
  let lastVersion = store.sqlite.pragma('data_version', { simple: true });
  const poll = setInterval(() => {
    void (async () => {
      const version = store.sqlite?.pragma('data_version', { simple: true });
      if (version !== lastVersion) {
        lastVersion = version;
        const { cutOff } = await directory.refresh();
        for (const id of cutOff) gateway.disconnect(id as DeviceId, 'VIGIL_ERR_DEVICE_QUARANTINED');
      }
      observations.sealOpenChunks(Date.now() - 15 * 60_000);
    })().catch((err) => log.error({ err }, 'background refresh failed'));
  }, opts.pollMs ?? 1000);

  log.info({ httpPort, mqttPort, dataDir: config.dataDir }, 'vigil started');
  return {
    httpPort,
    mqttPort,
    caPem: ca.root.certPem,
    routes,
    metrics,
    store,
    devices,
    patients,
    directory,
    pipeline,
    gateway,
    onStored: (l) => void storedListeners.push(l),
    quarantine,
    stop: async () => {
      clearInterval(poll);
      await gateway.close();
      await app.close();
      await committer.close();
      observations.sealOpenChunks();
      await events.flush();
      await checkpointer.stop();
      await store.close();
      log.info('vigil stopped');
    },
  };
}
