import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import pino from 'pino';
import { demoScenarios } from '../../sim/demo-scenarios.ts';
import { Fleet, type Scenario } from '../../sim/fleet.ts';
import { ApiTokens } from '../access/api-tokens.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { CareTeamStore } from '../clinical/care-teams.store.ts';
import { VigilError } from '../errors/catalogue.ts';
import { DEMO_CLINICIAN, initDataDir, isInitialized } from '../server/provision.ts';
import { type RunningVigil, startVigil } from '../server/vigil.ts';
import {
  type CommonFlags,
  configFrom,
  intOption,
  numberOption,
  openLocal,
  serverUrl,
  withCommon,
} from './context.ts';
import { probeDemoSecurity, seedDemoConsents, seedDemoPosture } from './demo-content.ts';
import { emit } from './output.ts';
import { provisionSimDevices } from './sim-provision.ts';

const DEMO_WARD = 'demo-ward';

const SCENARIOS = [
  'hypoglycemia',
  'desaturation',
  'hypertensive-crisis',
  'signal-loss',
  'sensor-fault',
] as const;

function scenarioOption(value: string): Scenario {
  if (!(SCENARIOS as readonly string[]).includes(value)) {
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `--scenario ${value.slice(0, 30)} is unknown; use one of ${SCENARIOS.join(', ')}`,
    );
  }
  return value as Scenario;
}

/** What a Lifetime needs of the process; tests pass a stand-in. */
export interface ProcessLike {
  on(event: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): void;
  readonly stderr: { write(text: string): unknown };
}

/**
 * The life of a long-running command (serve, sim, demo), from its first line to its exit.
 * The SIGINT and SIGTERM handlers are in place before any start-up work: Node's default one
 * would kill the process while devices enrol or the fleet connects, with the server open and
 * the store not closed (its WAL left behind). Start-up registers how to close each thing it
 * opens (onStop); a signal aborts `signal`, start-up gives up at its next step, and what was
 * opened closes, last opened first. A stop on request, during start-up or after, exits 0; a
 * stop that fails says so in one line and exits 1; a second signal exits at once with
 * 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as shells report it.
 */
export class Lifetime {
  private readonly aborter = new AbortController();
  private readonly closers: Array<{ what: string; close: () => Promise<void> | void }> = [];
  /** Settles once start-up has returned or given up, with its error if it failed. */
  private startUp: Promise<{ error: unknown } | undefined> = Promise.resolve(undefined);
  private closing: Promise<string[]> | undefined;
  private isStopping = false;

  constructor(private readonly proc: ProcessLike = process) {
    const onSignal = (signal: NodeJS.Signals) => this.onSignal(signal);
    proc.on('SIGINT', onSignal);
    proc.on('SIGTERM', onSignal);
  }

  /** Aborted by the first signal: start-up checks it between steps and passes it on. */
  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  /** Registers how to close something start-up opened (`what` names it in a failure). */
  onStop(what: string, close: () => Promise<void> | void): void {
    this.closers.push({ what, close });
  }

  /**
   * Runs start-up. When it fails on its own, what it opened is closed and its error goes on to
   * the caller (main prints it in one line); when a signal cut it short, the stop finishes.
   */
  async start(startUp: () => Promise<void>): Promise<void> {
    this.startUp = startUp().then(
      () => undefined,
      (error: unknown) => ({ error }),
    );
    const failed = await this.startUp;
    if (failed === undefined || this.isStopping) return;
    await this.closeAll();
    throw failed.error;
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (this.isStopping) {
      this.proc.exit(signal === 'SIGTERM' ? 143 : 130);
      return;
    }
    this.isStopping = true;
    this.proc.stderr.write('\nstopping…\n');
    this.aborter.abort();
    void this.stop();
  }

  /** Never rejects: an error here would be an unhandled rejection, a stack trace and exit 1. */
  private async stop(): Promise<void> {
    const problems: string[] = [];
    try {
      // Closing under a start-up step still at work would fail it midway: wait for it to give up.
      const failed = await this.startUp;
      if (failed !== undefined && !this.isInterruption(failed.error))
        problems.push(`start-up failed: ${firstLine(failed.error)}`);
      problems.push(...(await this.closeAll()));
    } catch (e) {
      problems.push(firstLine(e));
    }
    if (problems.length === 0) {
      this.proc.exit(0);
      return;
    }
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : '';
    this.proc.stderr.write(`vigil: ${problems[0]}${more}\n`);
    this.proc.exit(1);
  }

  private isInterruption(error: unknown): boolean {
    return error === this.signal.reason || (error instanceof Error && error.name === 'AbortError');
  }

  /**
   * Closes everything registered, last first, going on past a failure; says what failed. Once:
   * a signal may come while a failed start-up is still closing what it opened.
   */
  private closeAll(): Promise<string[]> {
    this.closing ??= this.closeEach();
    return this.closing;
  }

  private async closeEach(): Promise<string[]> {
    const problems: string[] = [];
    for (const { what, close } of this.closers.splice(0).reverse()) {
      try {
        await close();
      } catch (e) {
        problems.push(`could not stop ${what}: ${firstLine(e)}`);
      }
    }
    return problems;
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}

/**
 * Starts a fleet of simulated devices against a running Vigil whose data dir is local. A signal
 * stops it between two enrolments, or ends the wait for the fleet's first connections.
 */
async function runSim(
  life: Lifetime,
  o: CommonFlags & { devices: number; rate: number; scenario?: Scenario; mixScenarios?: boolean },
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

export function registerRunCommands(program: Command): void {
  withCommon(
    program
      .command('init')
      .description('create a data dir: database, master key, device CA, first admin user and token'),
  ).action(async (o: CommonFlags) => {
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
  });

  withCommon(program.command('serve').description('run the platform (HTTPS API and MQTT broker)'))
    .option('--http-port <port>', 'HTTPS port (default 8443)')
    .option('--mqtt-port <port>', 'MQTT over TLS port (default 8883)')
    .action(async (o: CommonFlags & { httpPort?: string; mqttPort?: string }) => {
      const life = new Lifetime();
      await life.start(async () => {
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
      });
    });

  withCommon(
    program
      .command('sim')
      .description('run simulated devices over the real protocol against a running Vigil'),
  )
    .option('--devices <n>', 'number of devices', intOption('--devices', 1, 10_000), 8)
    .option('--rate <r>', 'messages per second per device', numberOption('--rate', 0.001, 100), 1)
    .option('--scenario <name>', `bend the signals: ${SCENARIOS.join(', ')}`, scenarioOption)
    .action(async (o: CommonFlags & { devices: number; rate: number; scenario?: Scenario }) => {
      const life = new Lifetime();
      await life.start(async () => {
        const { fleet } = await runSim(life, o);
        const started = Date.now();
        const timer = setInterval(() => process.stdout.write(`${summaryLine(fleet, started)}\n`), 5000);
        life.onStop('the summary', () => clearInterval(timer));
      });
    });

  withCommon(
    program.command('demo').description('init if needed, serve, and run a simulated fleet against it'),
  )
    .option('--devices <n>', 'number of simulated devices', intOption('--devices', 1, 1000), 12)
    .option('--rate <r>', 'messages per second per device', numberOption('--rate', 0.001, 100), 1)
    .option('--scenario <name>', `bend the signals: ${SCENARIOS.join(', ')}`, scenarioOption)
    .action(async (o: CommonFlags & { devices: number; rate: number; scenario?: Scenario }) => {
      const life = new Lifetime();
      await life.start(() => runDemo(life, o));
    });
}

/** `vigil demo`: each step checks for a signal, and what it opens is closed by the lifetime. */
async function runDemo(
  life: Lifetime,
  o: CommonFlags & { devices: number; rate: number; scenario?: Scenario },
): Promise<void> {
  const config = configFrom(o);
  const lines: string[] = [];
  const signIns: string[] = [];
  // Not cut short: a data dir half made would not be taken for one, nor be one.
  if (!isInitialized(config)) {
    const r = await initDataDir(config, { demoClinician: true });
    lines.push(`initialised ${r.dataDir}; first admin API token (shown once): ${r.adminToken}`);
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
    `  Try: curl --cacert ${join(config.dataDir, 'ca.crt')} -H "Authorization: Bearer $TOKEN" ${url}/api/v1/devices`,
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
