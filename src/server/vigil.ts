import type { TLSSocket } from 'node:tls';
import pino, { type Logger } from 'pino';
import { type Access, createAccess } from '../access/access-domain.ts';
import { registerConsentRoutes } from '../access/consent-routes.ts';
import { createExportGate } from '../access/export-access.ts';
import { PatientAccess, type Requester } from '../access/patient-access.ts';
import { createPatientGate, type PatientGate } from '../access/patient-gate.ts';
import { AuditAnchorKeeper, readAnchor } from '../audit/audit-anchor.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { AuditSigner } from '../audit/audit-signer.ts';
import { registerAuditRoutes } from '../audit/routes.ts';
import { SyslogSink } from '../audit/syslog-sink.ts';
import { AlertEngine, type Clock } from '../clinical/alerts/alert-engine.ts';
import { AlertStore } from '../clinical/alerts/alerts.store.ts';
import { view as alertView, registerAlertRoutes } from '../clinical/alerts/routes.ts';
import { registerCareTeamRoutes } from '../clinical/care-teams.routes.ts';
import { CareTeamStore } from '../clinical/care-teams.store.ts';
import { registerErasureRoutes } from '../clinical/erasure-routes.ts';
import { ObservationWriter } from '../clinical/observation-writer.ts';
import { type AcceptedMessage, SqliteObservationStore } from '../clinical/observations.store.ts';
import { PatientStore } from '../clinical/patients.store.ts';
import { registerClinicalRoutes } from '../clinical/routes.ts';
import { SeriesStore } from '../clinical/series.store.ts';
import { SeriesReader } from '../clinical/series.ts';
import type { VigilConfig } from '../config/config.ts';
import { KeyRing } from '../crypto/key-ring.ts';
import { MasterKeyWatcher } from '../crypto/key-rotation.ts';
import { loadMasterKeyFile, loadMasterKeys } from '../crypto/master-key.ts';
import { TLS_POLICY } from '../crypto/tls-policy.ts';
import { registerSecurityRoutes } from '../detection/routes.ts';
import { SecurityEvents } from '../detection/security-events.ts';
import { registerDeviceAdminRoutes } from '../devices/admin-routes.ts';
import { DeviceAdmin } from '../devices/device-admin.ts';
import { loadDeviceCa } from '../devices/device-ca.ts';
import { DeviceDirectory } from '../devices/device-directory.ts';
import { identifyDevice } from '../devices/device-identity.ts';
import { DeviceStore } from '../devices/devices.store.ts';
import { DEFAULT_ENROLL_THROTTLE, EnrollThrottle } from '../devices/enroll-throttle.ts';
import { Enrollment } from '../devices/enrollment.ts';
import { OcspResponder } from '../devices/ocsp-responder.ts';
import { deviceRevocationUrls, RevocationList } from '../devices/revocation-list.ts';
import { registerDeviceRoutes } from '../devices/routes.ts';
import { VigilError } from '../errors/catalogue.ts';
import type { DeviceId } from '../errors/ids.ts';
import { registerFhirRoutes } from '../fhir/fhir-routes.ts';
import { registerHttpIngest } from '../ingest/http-ingest.ts';
import { FINGERPRINT_KEY_OWNER, messageFingerprinter } from '../ingest/message-fingerprint.ts';
import { MqttGateway } from '../ingest/mqtt/gateway.ts';
import { IngestPipeline } from '../ingest/pipeline.ts';
import { decodeStatus } from '../ingest/status-decoder.ts';
import { CodeRegistry } from '../ingest/vital-codes.ts';
import { createNotifications, type NotifyTuning } from '../notify/notify-domain.ts';
import { OutboxRetention, type OutboxRetentionOptions } from '../notify/outbox-retention.ts';
import { StreamHub, type StreamLimits } from '../notify/stream-hub.ts';
import { registerStreamRoutes } from '../notify/stream-routes.ts';
import { createMetrics, type Metrics } from '../observability/metrics.ts';
import { PostureStore } from '../posture/posture.store.ts';
import { registerPostureRoutes } from '../posture/routes.ts';
import { openStore, type Store } from '../store/database.ts';
import { GroupCommitter } from '../store/group-commit.ts';
import { startWalCheckpointer } from '../store/wal-checkpointer.ts';
import { VERSION } from '../version.ts';
import { createHttpServer, type RouteRecord } from './http.ts';
import { listenOrExplain } from './listen-refusal.ts';
import { registerOpsRoutes } from './ops-routes.ts';
import { type CheckOutcome, ServerTlsKeeper, TLS_CHECK_MS } from './server-tls.ts';
import { registerWebRoutes } from './web-routes.ts';

export interface RunningVigil {
  httpPort: number;
  mqttPort: number;
  caPem: string;
  routes: RouteRecord[];
  metrics: Metrics;
  store: Store;
  /** Users, sessions and API tokens (tests create users and sessions through it). */
  access: Access;
  devices: DeviceStore;
  patients: PatientStore;
  /** The care-team and consent check every patient-data route asks (bench/authz.ts times it). */
  gate: PatientGate;
  directory: DeviceDirectory;
  pipeline: IngestPipeline;
  gateway: MqttGateway;
  alerts: AlertEngine;
  /** The live WebSocket stream's fan-out (open connections, limits). */
  stream: StreamHub;
  /** Subscribe to durably stored messages (clinical rules, live stream, tests). */
  onStored(listener: (m: AcceptedMessage) => void): void;
  quarantine(deviceId: string, reason: string, actor: string): Promise<void>;
  /** Reissues the server certificate, or rereads the operator's files, when due (SIGHUP, tests). */
  checkServerTls(nowMs?: number): Promise<CheckOutcome>;
  stop(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  /** How often to look for changes made by other processes (CLI) and seal idle chunks. */
  pollMs?: number;
  /** How often to sign a checkpoint of the audit trail's head. */
  auditCheckpointMs?: number;
  /** The alert engine's clock: tests move it on to reach signal loss and escalation. */
  alertClock?: Clock;
  /** Live-stream limits (tests shorten the ping and the gate-decision lifetime). */
  stream?: Partial<StreamLimits>;
  /** Webhook and e-mail retry pacing (tests shorten it). */
  notify?: NotifyTuning;
  /** How often to check the server certificate (see server-tls.ts). */
  tlsCheckMs?: number;
  /** When the pruning of finished notification rows runs (tests bring it forward). */
  outboxRetention?: Pick<OutboxRetentionOptions, 'firstPassAfterMs' | 'intervalMs'>;
}

/**
 * Batches handed to the ingest writer and not yet committed, at most: one per turn of the event
 * loop while the thread is busy. The bound keeps a stalled disk from queueing without limit.
 */
const WRITER_BATCHES_IN_FLIGHT = 64;

/** Webhooks and e-mail judged as an integration would be: by the patient's consent only. */
const NOTIFY_REQUESTER: Requester = { role: 'integration', name: 'notify', actor: 'system:notify' };

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
  const sqlite = store.sqlite;
  const checkpointer = startWalCheckpointer(store.sqlite, {
    onError: (message) => log.warn({ message }, 'background WAL checkpoint failed'),
  });
  const keys = new KeyRing(store.db, master, () => loadMasterKeys(config.masterKeyFile));
  const masterKeys = new MasterKeyWatcher(store.db, keys, config.masterKeyFile);
  await masterKeys.start();
  const metrics = createMetrics();
  const audit = new AuditLog(store.db, store.sqlite);
  const auditSigner = await AuditSigner.load(store.db, keys);
  const syslog = config.syslogUrl
    ? new SyslogSink(config.syslogUrl, (message) => log.warn({ message }, 'audit syslog delivery failed'))
    : undefined;
  if (syslog) audit.onAppended((entry) => syslog.send(entry));
  const events = new SecurityEvents(store.db, log.child({ component: 'security' }), metrics);
  const auditAnchor = new AuditAnchorKeeper({
    audit,
    signer: auditSigner,
    dataDir: config.dataDir,
    onRefused: (detail) => {
      log.error({ detail }, 'audit checkpoint refused: the trail does not hold the anchored checkpoint');
      events.record({ code: 'VIGIL_ERR_AUDIT_TAMPERED', detail });
    },
  });
  const signAuditHead = () => auditAnchor.signHead();
  await signAuditHead();
  const ca = await loadDeviceCa(store.db, keys);
  let serverTls: ServerTlsKeeper;
  try {
    serverTls = await ServerTlsKeeper.open({ config, db: store.db, keys, ca, log, audit, metrics });
  } catch (err) {
    await masterKeys.stop();
    await checkpointer.stop();
    await store.close();
    throw err;
  }
  const deviceCaChain = [ca.root.certPem, ca.issuing.certPem];
  const listenerTls = () => ({
    key: serverTls.current.keyPem,
    cert: serverTls.current.certPem,
    ca: deviceCaChain,
  });

  const registry = new CodeRegistry();
  const devices = new DeviceStore(store.db);
  const crl = new RevocationList({ db: store.db, ca });
  const ocsp = new OcspResponder({ devices, ca, registry: metrics.registry, refusals: metrics.refusals });
  const patients = new PatientStore(store.db, keys);
  const directory = new DeviceDirectory(devices);
  await directory.refresh();

  const keyOf = (patientId: string) => {
    const key = keys.cachedDataKey('patient', patientId);
    if (!key) throw new Error(`data key of patient ${patientId} is not loaded`);
    return key;
  };
  const ensurePatientKey = async (patientId: string) => {
    if (await patients.isErased(patientId)) {
      throw new VigilError(
        'VIGIL_ERR_PATIENT_ERASED',
        `patient ${patientId} was erased; their data cannot be read`,
      );
    }
    await keys.dataKey('patient', patientId);
  };
  const patientAccess = new PatientAccess(store.db, store.sqlite);
  const gate = createPatientGate(patientAccess, audit, ensurePatientKey);
  const observations = new SqliteObservationStore(
    store.sqlite,
    (code) => registry.get(code)?.decimals ?? 3,
    keyOf,
  );
  const stagedKeys = new Map<string, Buffer>();
  for (const patientId of observations.stagedPatients()) {
    // A patient erased from the CLI while the server was down: their staged rows are shredded.
    if (await patients.isErased(patientId)) observations.forgetPatient(patientId);
    else stagedKeys.set(patientId, await keys.dataKey('patient', patientId));
  }
  // Readings are written on a thread of their own (its own connection); this thread's
  // `observations` only reads (last stored seq, redelivery window).
  const writer = await ObservationWriter.start({
    file: sqlite.name,
    decimals: registry.list().map((c) => [c.code, c.decimals] as const),
    stagedKeys,
    gate: store.writeGate,
    maxMessagesPerTransaction: config.ingest.groupCommitMaxMessages,
    onError: (message) => log.error({ message }, 'ingest writer'),
    onTransaction: (t) => {
      metrics.commitSeconds.observe(t.ms / 1000);
      metrics.commitBatchSize.observe(t.messages);
    },
  });
  for (const m of observations.recentMessages()) directory.remember(m.deviceId, m);

  const committer = new GroupCommitter<AcceptedMessage>({
    windowMs: config.ingest.groupCommitMs,
    maxBatch: config.ingest.groupCommitMaxMessages,
    // Handed over while earlier batches commit: the writer's thread starts its next transaction,
    // with every batch waiting, as soon as one ends (see observation-writer.worker.ts).
    maxInFlight: WRITER_BATCHES_IN_FLIGHT,
    // On the writer's own connection: never a savepoint inside a Kysely transaction of this one.
    commit: (batch) => writer.commitBatch(batch, keyOf),
  });
  const careTeams = new CareTeamStore(store.db);
  const alertStore = new AlertStore(store.db, (patientId) => keys.dataKey('patient', patientId));
  const alerts = new AlertEngine({
    store: alertStore,
    careTeams,
    audit,
    security: events,
    patientAt: (deviceId, tsMs) => directory.patientAt(deviceId, tsMs),
    log: log.child({ component: 'alerts' }),
    ...(opts.alertClock ? { clock: opts.alertClock } : {}),
  });
  await alerts.start(
    (await devices.list()).flatMap((d) =>
      d.patientId ? [{ deviceId: d.id, patientId: d.patientId, lastSeenMs: d.lastSeenMs }] : [],
    ),
  );
  /** Reloads the ingest path's view of devices; signal loss starts watching newly assigned ones. */
  const refreshDevices = async () => {
    // A revocation, made here or by another process, is what brings the directory to reload.
    crl.invalidate();
    ocsp.invalidate();
    const result = await directory.refresh();
    alerts.watchAssigned(directory.assignedAt(Date.now()));
    return result;
  };
  const stream = new StreamHub({
    readable: (identity, ids, category) => gate.readable(identity, ids, category),
    scope: (identity, category) => gate.readablePatients(identity, category),
    audit,
    metrics,
    log: log.child({ component: 'stream' }),
    unitOf: (code) => registry.get(code)?.canonicalUnit ?? '',
    isQuestionable: (r) => alerts.isQuestionable(r),
    ...(opts.stream ? { limits: opts.stream } : {}),
  });
  alerts.subscribe((alert, action) => stream.publishAlert(alert.patientId, action, () => alertView(alert)));
  events.subscribe((e) => stream.publishSecurity(e));
  const storedListeners: Array<(m: AcceptedMessage) => void> = [(m) => stream.publishStored(m)];
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
    fingerprint: messageFingerprinter(await keys.dataKey('system', FINGERPRINT_KEY_OWNER)),
    lastStored: (deviceId) => observations.lastStored(deviceId),
    onStored: (m) => {
      alerts.onStored(m);
      for (const l of storedListeners) l(m);
    },
  });

  const gateway = new MqttGateway({
    tls: listenerTls(),
    log,
    maxPayloadBytes: config.ingest.maxPayloadBytes,
    hooks: {
      identify: async (socket: TLSSocket) => identifyDevice(socket, directory) as DeviceId,
      onTelemetry: async (deviceId, payload) => {
        await pipeline.accept(deviceId, payload, 'mqtt');
      },
      onStatus: async (deviceId, payload) => {
        const status = decodeStatus(payload, { nowMs: Date.now() });
        alerts.onStatus(deviceId, status);
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

  // The status change and its device_events row commit together (devices.store.ts); the audit
  // entry, the security event and the webhooks follow from the row (notify/device-events-outbox.ts),
  // so a crash at any point after the commit loses none of them. The directory and the live
  // connection change in memory at once; a restart reloads the directory from the devices table.
  const quarantine = async (deviceId: string, reason: string, actor: string) => {
    await devices.quarantine(deviceId, reason, actor);
    directory.setStatus(deviceId, 'quarantined');
    gateway.disconnect(deviceId as DeviceId, 'VIGIL_ERR_DEVICE_QUARANTINED');
    // Awaited so that the answer comes after the audit entry and the security event.
    await notify.relayDeviceEvents();
  };
  const release = async (deviceId: string, actor: string) => {
    const isReleased = await devices.release(deviceId, actor);
    if (!isReleased) return;
    await refreshDevices();
    await notify.relayDeviceEvents();
  };

  const access = createAccess({ db: store.db, keys, audit, host: config.host, streams: stream });
  const notify = createNotifications({
    config,
    db: store.db,
    keys,
    audit,
    alerts,
    alertStore,
    devices,
    security: events,
    users: access.users,
    registry: metrics.registry,
    log,
    // Consent alone decides, as for an integration: the receivers are outside systems and inboxes.
    mayDisclose: async (patientId) =>
      (await patientAccess.readable(NOTIFY_REQUESTER, [patientId], 'alerts')).has(patientId),
    tuning: opts.notify,
  });
  // Finished deliveries and relayed device events are deleted once past the retention.
  const outboxRetention = new OutboxRetention({
    db: store.db,
    retentionDays: config.notifyRetentionDays,
    registry: metrics.registry,
    log: log.child({ component: 'outbox-retention' }),
    ...opts.outboxRetention,
  });
  const { app, routes } = await createHttpServer({
    tls: listenerTls(),
    log,
    metrics,
    tokens: access.tokens,
    sessions: access.guard,
  });
  registerOpsRoutes(app, metrics, () => ({
    mqtt: true,
    store: (store.sqlite?.open ?? true) && writer.alive,
  }));
  registerDeviceRoutes(app, {
    devices,
    enrollment: new Enrollment(
      devices,
      ca,
      audit,
      config.deviceCertValidityDays,
      async () => {
        // The certificate just superseded may hold a live MQTT session; the next poll finds
        // its serial already revoked in memory and would never cut it.
        const { cutOff } = await refreshDevices();
        for (const id of cutOff) gateway.disconnect(id as DeviceId, 'VIGIL_ERR_TLS_REVOKED');
      },
      deviceRevocationUrls(config.publicUrl),
    ),
    audit,
    quarantine,
    release,
    crl,
    ocsp,
    directory,
    events,
    enrollThrottle: new EnrollThrottle({
      ...DEFAULT_ENROLL_THROTTLE,
      refusalsPerWindow: config.enrollRefusalsPerMinute,
    }),
  });
  registerDeviceAdminRoutes(
    app,
    new DeviceAdmin({
      devices,
      audit,
      enrollmentTokenTtlSeconds: config.enrollmentTokenTtlSeconds,
      patientExists: (id) => patients.exists(id),
      refresh: async () => {
        await refreshDevices();
      },
      disconnect: (id, code) => gateway.disconnect(id as DeviceId, code),
      isConnected: (id) => gateway.isConnected(id as DeviceId),
    }),
  );
  const seriesStore = new SeriesStore(store.sqlite, keyOf);
  const series = new SeriesReader(seriesStore);
  registerClinicalRoutes(app, {
    patients,
    series,
    registry,
    audit,
    gate,
    questionableReadings: (patientId, fromMs, toMs) =>
      alertStore.questionableReadings(patientId, fromMs, toMs),
  });
  await registerFhirRoutes(app, {
    patients,
    devices,
    series,
    registry,
    audit,
    keys,
    db: store.db,
    ensurePatientKey,
    gate,
    exportGate: createExportGate(patientAccess, audit, patients, ensurePatientKey),
    everything: {
      db: store.db,
      patients,
      devices,
      series,
      seriesStore,
      registry,
      consents: (id) => patientAccess.consents(id),
    },
    access: patientAccess,
    events,
    refreshDevices: async () => {
      await refreshDevices();
    },
    version: VERSION,
    ingest: { pipeline, directory, events },
  });
  registerAlertRoutes(app, { engine: alerts, store: alertStore, patients, audit, ensurePatientKey, gate });
  registerConsentRoutes(app, {
    access: patientAccess,
    audit,
    events,
    patientExists: (id) => patients.exists(id),
  });
  registerCareTeamRoutes(app, { careTeams, audit });
  notify.registerRoutes(app);
  registerSecurityRoutes(app, events);
  registerErasureRoutes(app, {
    erase: async (patientId, actor, reason, source) => {
      const erased = await patients.erase(patientId);
      if (!erased) return false;
      await writer.forgetPatient(patientId);
      // Their open alerts can no longer be re-sealed: left open, every tick would trip on them.
      await alerts.forgetPatient(patientId, actor);
      await refreshDevices();
      await audit.append({
        actor,
        action: 'patient.erase',
        patientId,
        resource: `Patient/${patientId}`,
        purpose: reason,
        outcome: 'success',
        source,
      });
      return true;
    },
  });
  registerAuditRoutes(app, {
    audit,
    check: auditSigner.verifier().check,
    anchor: () => readAnchor(config.dataDir),
  });
  registerPostureRoutes(app, { posture: new PostureStore(store.db, store.sqlite), audit });
  access.registerRoutes(app);
  await registerStreamRoutes(app, { hub: stream, tokens: access.tokens, sessions: access.guard });
  await registerWebRoutes(app);
  await registerHttpIngest(app, {
    pipeline,
    directory,
    events,
    maxPayloadBytes: config.ingest.maxPayloadBytes,
  });

  // Connections already open keep the certificate they began with; new ones get the new one.
  serverTls.onChange(() => {
    gateway.setSecureContext(listenerTls());
    app.server.setSecureContext({ ...listenerTls(), ...TLS_POLICY });
  });
  const tlsTimer = setInterval(() => {
    serverTls.check().catch((err) => log.error({ err }, 'server certificate check failed'));
  }, opts.tlsCheckMs ?? TLS_CHECK_MS);

  /** Closes what start-up opened, last opened first: on stop(), or when a port cannot be had. */
  const closeOpened = async () => {
    clearInterval(tlsTimer);
    await gateway.close();
    await stream.stop();
    await app.close();
    await committer.close();
    await alerts.stop();
    await outboxRetention.stop();
    await notify.stop();
    await writer.close();
    await events.close();
    await signAuditHead();
    await masterKeys.stop();
    await syslog?.close();
    await checkpointer.stop();
    await store.close();
  };
  let mqttPort: number;
  try {
    mqttPort = await listenOrExplain(() => gateway.listen(config.mqttPort, config.host), {
      listener: 'MQTT',
      port: config.mqttPort,
      host: config.host,
    });
    await listenOrExplain(() => app.listen({ port: config.httpPort, host: config.host }), {
      listener: 'HTTPS',
      port: config.httpPort,
      host: config.host,
    });
  } catch (err) {
    await closeOpened();
    throw err;
  }
  const address = app.server.address();
  const httpPort = typeof address === 'object' && address ? address.port : config.httpPort;
  notify.start(httpPort);
  outboxRetention.start();

  // Other processes (the CLI) change devices directly in the store; pick that up and act on it.
  // Asked of the ingest writer's connection: its own commits (hundreds a second under load) leave
  // that data_version alone, so the refresh below runs only after somebody else's change.
  const dataVersion = async () =>
    writer.alive ? await writer.dataVersion() : sqlite.pragma('data_version', { simple: true });
  let lastVersion = await dataVersion();
  let erasuresSeenMs = Date.now();
  const auditTimer = setInterval(() => {
    signAuditHead().catch((err) => log.error({ err }, 'audit checkpoint failed'));
  }, opts.auditCheckpointMs ?? 60_000);
  // One pass at a time, and stop() waits for the one in flight before it closes what it uses.
  let polling: Promise<void> | undefined;
  const poll = setInterval(() => {
    if (polling) return;
    polling = (async () => {
      const version = await dataVersion();
      if (version !== lastVersion) {
        lastVersion = version;
        const { cutOff } = await refreshDevices();
        // Quarantined, or a certificate revoked (`vigil device revoke`): the device is told which.
        for (const id of cutOff)
          gateway.disconnect(
            id as DeviceId,
            directory.isQuarantined(id) ? 'VIGIL_ERR_DEVICE_QUARANTINED' : 'VIGIL_ERR_TLS_REVOKED',
          );
        // A patient erased from the CLI: forget the key and the unsealed readings here too.
        const watermark = erasuresSeenMs;
        erasuresSeenMs = Date.now() - 5000;
        for (const patientId of await keys.forgetDestroyed(watermark)) {
          await writer.forgetPatient(patientId);
          // As the erasure route does: their open alerts resolve and their values leave memory.
          await alerts.forgetPatient(patientId);
        }
      }
      await masterKeys.check();
      await writer.sealOpenChunks(Date.now() - 15 * 60_000);
    })()
      .catch((err) => log.error({ err }, 'background refresh failed'))
      .finally(() => {
        polling = undefined;
      });
  }, opts.pollMs ?? 1000);

  log.info({ httpPort, mqttPort, dataDir: config.dataDir }, 'vigil started');
  return {
    httpPort,
    mqttPort,
    caPem: ca.root.certPem,
    routes,
    metrics,
    store,
    access,
    devices,
    patients,
    gate,
    directory,
    pipeline,
    gateway,
    alerts,
    stream,
    onStored: (l) => void storedListeners.push(l),
    quarantine,
    checkServerTls: (nowMs) => serverTls.check(nowMs),
    stop: async () => {
      clearInterval(poll);
      clearInterval(auditTimer);
      await polling;
      await closeOpened();
      log.info('vigil stopped');
    },
  };
}
