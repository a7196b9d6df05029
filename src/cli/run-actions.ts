/** What `vigil init`, `serve`, `sim` and `demo` do, once run-commands.ts has parsed their flags. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { demoScenarios } from '../../sim/demo-scenarios.ts';
import { Fleet, type Scenario } from '../../sim/fleet.ts';
import { ApiTokens } from '../access/api-tokens.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { CareTeamStore } from '../clinical/care-teams.store.ts';
import { DEMO_CLINICIAN, initDataDir, isInitialized } from '../server/provision.ts';
import { type RunningVigil, startVigil } from '../server/vigil.ts';
import { type CommonFlags, configFrom, serverUrl } from './context.ts';
import { probeDemoSecurity, seedDemoConsents, seedDemoPosture } from './demo-content.ts';
import type { Lifetime } from './lifetime.ts';
import { openLocal } from './open-local.ts';
import { emit } from './output.ts';
import { provisionSimDevices } from './sim-provision.ts';

export type ServeFlags = CommonFlags & { httpPort?: string; mqttPort?: string };
/** `vigil sim` and `vigil demo`. */
export type SimFlags = CommonFlags & { devices: number; rate: number; scenario?: Scenario };
/** `vigil demo`: the simulator's flags, and where the server it starts listens. */
export type DemoFlags = SimFlags & Pick<ServeFlags, 'httpPort' | 'mqttPort'>;

const DEMO_WARD = 'demo-ward';

export async function init(o: CommonFlags): Promise<void> {
  const r = await initDataDir(configFrom(o));
  emit(
    o,
    {
      dataDir: r.dataDir,
      caFile: r.caFile,
      adminUsername: r.adminUsername,
      adminPassword: r.adminPassword,
      adminToken: r.adminToken,
    },
    [
      `initialised ${r.dataDir}`,
      `device CA: ${r.caFile}`,
      `first admin sign-in: user ${r.adminUsername}, one-time password ${r.adminPassword}`,
      '  (shown once; change it and enrol TOTP at first sign-in)',
      'first admin API token (shown once; store it safely):',
    ],
    r.adminToken,
  );
}

/** `vigil serve`'s start-up, run by its lifetime. */
export async function serve(life: Lifetime, o: ServeFlags): Promise<void> {
  const config = configFrom(o, { httpPort: o.httpPort, mqttPort: o.mqttPort });
  const vigil = await startVigil(config);
  life.onStop('the server', () => vigil.stop());
  life.signal.throwIfAborted();
  // As web servers do: SIGHUP checks the server certificate now (reissue it, or reread your files).
  process.on('SIGHUP', () => {
    vigil.checkServerTls().catch((err: Error) => {
      process.stderr.write(`vigil: server certificate check failed: ${err.message}\n`);
    });
  });
  emit(o, { https: serverUrl(config, vigil.httpPort), mqtt: vigil.mqttPort }, [
    `Vigil is running: API ${serverUrl(config, vigil.httpPort)}  MQTT mqtts://${config.host}:${vigil.mqttPort}`,
  ]);
}

/** `vigil sim`'s start-up, run by its lifetime: the fleet, then a summary line every 5 s. */
export async function sim(life: Lifetime, o: SimFlags): Promise<void> {
  const { fleet } = await runSim(life, o);
  const started = Date.now();
  const timer = setInterval(() => process.stdout.write(`${summaryLine(fleet, started)}\n`), 5000);
  life.onStop('the summary', () => clearInterval(timer));
}

/**
 * Starts a fleet of simulated devices against a running Vigil whose data dir is local. A signal
 * stops it between two enrolments, or ends the wait for the fleet's first connections.
 */
async function runSim(
  life: Lifetime,
  o: SimFlags & { mixScenarios?: boolean },
  ports?: { http: number; mqtt: number },
) {
  const { config, store, keys } = await openLocal(o);
  const caPem = readFileSync(join(config.dataDir, 'ca.crt'), 'utf8');
  const http = ports?.http ?? config.httpPort;
  const mqtt = ports?.mqtt ?? config.mqttPort;
  let devices: Awaited<ReturnType<typeof provisionSimDevices>>;
  try {
    life.signal.throwIfAborted();
    devices = await provisionSimDevices({
      db: store.db,
      keys,
      dataDir: config.dataDir,
      serverUrl: serverUrl(config, http),
      caPem,
      count: o.devices,
      onProgress: (done, total) => {
        if (!o.json && process.stderr.isTTY)
          process.stderr.write(`\renrolling simulated devices ${done}/${total}`);
        if (!o.json && process.stderr.isTTY && done === total) process.stderr.write('\n');
        // Called once a device's credentials are written whole: the place to give up on a signal.
        life.signal.throwIfAborted();
      },
      onRenewalFailed: (deviceId, reason) =>
        process.stderr.write(`vigil: simulated device ${deviceId} kept its old certificate: ${reason}\n`),
    });
  } finally {
    await store.close();
  }
  life.signal.throwIfAborted();
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  // Without a scenario for all, the demo gives one device each scenario, so every alert shows.
  const plan = o.mixScenarios && !o.scenario ? demoScenarios(devices) : new Map<string, Scenario>();
  const fleet = new Fleet({
    mqttUrl: `mqtts://${host}:${mqtt}`,
    devices,
    rate: o.rate,
    ...(o.scenario ? { scenario: o.scenario } : {}),
    scenarioByDevice: plan,
  });
  let fleetStopped: Promise<void> | undefined;
  const stopFleet = () => {
    fleetStopped ??= fleet.stop();
    return fleetStopped;
  };
  life.onStop('the simulated fleet', stopFleet);
  // start() waits for every device's first connection, spread over up to 5 s; a stop ends it.
  // A failure to stop is reported by the closer registered above, which awaits the same stop.
  life.signal.addEventListener('abort', () => void stopFleet().catch(() => {}), { once: true });
  await fleet.start();
  life.signal.throwIfAborted();
  return { fleet, plan, devices };
}

function summaryLine(fleet: Fleet, startedMs: number): string {
  const s = fleet.stats();
  const refused = Object.values(s.refused).reduce((a, b) => a + b, 0);
  const secs = Math.max(1, (Date.now() - startedMs) / 1000);
  return `${new Date().toISOString().slice(11, 19)}  devices ${s.connected} connected · ${s.acked} messages stored (${(s.readings / secs).toFixed(1)} readings/s) · ${refused} refused · ${s.errors} errors`;
}

/** `vigil demo`: each step checks for a signal, and what it opens is closed by the lifetime. */
export async function demo(life: Lifetime, o: DemoFlags): Promise<void> {
  const config = configFrom(o, { httpPort: o.httpPort, mqttPort: o.mqttPort });
  const lines: string[] = [];
  const signIns: string[] = [];
  // Not cut short: a data dir half made would not be taken for one, nor be one.
  if (!isInitialized(config)) {
    const r = await initDataDir(config, { demoClinician: true });
    lines.push(
      `initialised ${r.dataDir}; first admin API token (shown once, keep it for scripts): ${r.adminToken}`,
    );
    signIns.push(
      '  First sign-ins at the dashboard (one-time passwords, shown once; each sets a new password and TOTP):',
      `    admin           user ${r.adminUsername}, one-time password ${r.adminPassword}`,
      ...(r.clinician
        ? [
            `    clinician       user ${r.clinician.username}, one-time password ${r.clinician.password}  (sees the demo ward's patients)`,
          ]
        : []),
    );
  }
  life.signal.throwIfAborted();
  // The terminal shows a summary line; the structured log goes to a file beside the data.
  const logFile = join(config.dataDir, 'vigil.log');
  const log = pino({ level: config.logLevel }, pino.destination({ dest: logFile, mkdir: true }));
  const vigil = await startVigil(config, { log });
  life.onStop('the server', () => vigil.stop());
  life.signal.throwIfAborted();
  const demoToken = await createDemoToken(vigil, 'admin', 'demo-session');
  const clinicianToken = await createDemoToken(vigil, 'clinician', 'demo-clinician');
  const { fleet, plan, devices } = await runSim(
    life,
    { ...o, dataDir: config.dataDir, mixScenarios: true },
    { http: vigil.httpPort, mqtt: vigil.mqttPort },
  );
  // Posture, consent and security events, so the security and privacy screens are not empty.
  const demoAudit = new AuditLog(vigil.store.db);
  await seedDemoPosture(vigil.store.db, vigil.store.sqlite, demoAudit);
  life.signal.throwIfAborted();
  await seedDemoConsents(vigil.store.db, vigil.store.sqlite, demoAudit, await vigil.patients.listIds());
  life.signal.throwIfAborted();
  await probeDemoSecurity(serverUrl(config, vigil.httpPort), vigil.caPem, devices);
  life.signal.throwIfAborted();
  await prepareDemoWard(vigil, plan);
  life.signal.throwIfAborted();
  const url = serverUrl(config, vigil.httpPort);
  for (const line of [
    ...lines,
    `Vigil demo is running with ${o.devices} simulated devices.`,
    `  Dashboard  ${url}/   (trust ${join(config.dataDir, 'ca.crt')} in your browser, or accept the warning once)`,
    ...signIns,
    `  API        ${url}/api/v1/devices   (OpenAPI: ${url}/docs)`,
    `  MQTT       mqtts://${config.host}:${vigil.mqttPort}  (client certificates from ${join(config.dataDir, 'ca.crt')})`,
    `  Admin token for this session (12 h): ${demoToken}`,
    `  Clinician token (12 h, reads and acknowledges alerts): ${clinicianToken}`,
    `  Alerts     ${url}/api/v1/alerts   (data quality: ${url}/api/v1/data-quality)`,
    ...(plan.size > 0
      ? [`  Scenarios  ${[...plan].map(([deviceId, scenario]) => `${deviceId} ${scenario}`).join(', ')}`]
      : []),
    `  Log        ${logFile}`,
    `  Try: curl --cacert ${join(config.dataDir, 'ca.crt')} -H "Authorization: Bearer ${demoToken}" ${url}/api/v1/devices`,
    'Press Ctrl-C to stop.',
  ]) {
    process.stdout.write(`${line}\n`);
  }
  const started = Date.now();
  const timer = setInterval(() => {
    const a = vigil.alerts.summary();
    const alerts = `alerts ${a.open} open (${a.urgent} urgent), ${a.acknowledged} acknowledged`;
    process.stdout.write(`${summaryLine(fleet, started)} · ${alerts}\n`);
  }, 5000);
  life.onStop('the summary', () => clearInterval(timer));
}

/** A 12-hour token for this demo session, audited like `vigil token create`. */
async function createDemoToken(
  vigil: RunningVigil,
  role: 'admin' | 'clinician',
  name: string,
): Promise<string> {
  const t = await new ApiTokens(vigil.store.db).create({ role, name, ttlSeconds: 12 * 3600 });
  await new AuditLog(vigil.store.db).append({
    actor: 'cli:demo',
    action: 'token.create',
    resource: `ApiToken/${t.id}`,
    outcome: 'success',
  });
  return t.token;
}

/** Clinicians read patients only through a care team: the demo clinician gets the sim ward. */
async function prepareDemoWard(vigil: RunningVigil, plan: ReadonlyMap<string, Scenario>): Promise<void> {
  const careTeams = new CareTeamStore(vigil.store.db);
  if (!(await careTeams.list()).some((t) => t.id === DEMO_WARD))
    await careTeams.create(DEMO_WARD, 'Demo ward');
  await careTeams.setMembers(DEMO_WARD, [DEMO_CLINICIAN]);
  const ward = await careTeams.get(DEMO_WARD);
  for (const id of await vigil.patients.listIds()) {
    if (id.startsWith('sim-patient-') && !ward.patients.includes(id))
      await careTeams.addPatient(DEMO_WARD, id);
  }
  for (const [deviceId, scenario] of plan) {
    const patientId = vigil.directory.patientAt(deviceId, Date.now());
    if (scenario !== 'signal-loss' || patientId === undefined) continue;
    // Two minutes instead of twenty, so the demo shows signal loss while someone watches.
    const overrides = { ...vigil.alerts.overridesFor(patientId), signalLossMinutes: 2 };
    await vigil.alerts.setRules(patientId, overrides, 'cli:demo');
  }
}
