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
import { startVigil } from '../server/vigil.ts';
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

function stopOnSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write('\nstopping…\n');
    void stop().then(() => process.exit(0));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** Starts a fleet of simulated devices against a running Vigil whose data dir is local. */
async function runSim(
  o: CommonFlags & { devices: number; rate: number; scenario?: Scenario; mixScenarios?: boolean },
  ports?: { http: number; mqtt: number },
) {
  const { config, store, keys } = await openLocal(o);
  const caPem = readFileSync(join(config.dataDir, 'ca.crt'), 'utf8');
  const http = ports?.http ?? config.httpPort;
  const mqtt = ports?.mqtt ?? config.mqttPort;
  let devices: Awaited<ReturnType<typeof provisionSimDevices>>;
  try {
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
      },
      onRenewalFailed: (deviceId, reason) =>
        process.stderr.write(`vigil: simulated device ${deviceId} kept its old certificate: ${reason}\n`),
    });
  } finally {
    await store.close();
  }
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
  await fleet.start();
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
      const config = configFrom(o, { httpPort: o.httpPort, mqttPort: o.mqttPort });
      const vigil = await startVigil(config);
      stopOnSignal(vigil.stop);
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

  withCommon(
    program
      .command('sim')
      .description('run simulated devices over the real protocol against a running Vigil'),
  )
    .option('--devices <n>', 'number of devices', intOption('--devices', 1, 10_000), 8)
    .option('--rate <r>', 'messages per second per device', numberOption('--rate', 0.001, 100), 1)
    .option('--scenario <name>', `bend the signals: ${SCENARIOS.join(', ')}`, scenarioOption)
    .action(async (o: CommonFlags & { devices: number; rate: number; scenario?: Scenario }) => {
      const { fleet } = await runSim(o);
      const started = Date.now();
      stopOnSignal(() => fleet.stop());
      setInterval(() => process.stdout.write(`${summaryLine(fleet, started)}\n`), 5000);
    });

  withCommon(
    program.command('demo').description('init if needed, serve, and run a simulated fleet against it'),
  )
    .option('--devices <n>', 'number of simulated devices', intOption('--devices', 1, 1000), 12)
    .option('--rate <r>', 'messages per second per device', numberOption('--rate', 0.001, 100), 1)
    .option('--scenario <name>', `bend the signals: ${SCENARIOS.join(', ')}`, scenarioOption)
    .action(async (o: CommonFlags & { devices: number; rate: number; scenario?: Scenario }) => {
      const config = configFrom(o);
      const lines: string[] = [];
      const signIns: string[] = [];
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
      // The terminal shows a summary line; the structured log goes to a file beside the data.
      const logFile = join(config.dataDir, 'vigil.log');
      const log = pino({ level: config.logLevel }, pino.destination({ dest: logFile, mkdir: true }));
      const vigil = await startVigil(config, { log });
      const demoToken = await new ApiTokens(vigil.store.db).create({
        role: 'admin',
        name: 'demo-session',
        ttlSeconds: 12 * 3600,
      });
      await new AuditLog(vigil.store.db).append({
        actor: 'cli:demo',
        action: 'token.create',
        resource: `ApiToken/${demoToken.id}`,
        outcome: 'success',
      });
      const clinicianToken = await new ApiTokens(vigil.store.db).create({
        role: 'clinician',
        name: 'demo-clinician',
        ttlSeconds: 12 * 3600,
      });
      await new AuditLog(vigil.store.db).append({
        actor: 'cli:demo',
        action: 'token.create',
        resource: `ApiToken/${clinicianToken.id}`,
        outcome: 'success',
      });
      const { fleet, plan, devices } = await runSim(
        { ...o, dataDir: config.dataDir, mixScenarios: true },
        { http: vigil.httpPort, mqtt: vigil.mqttPort },
      );
      // Posture, consent and security events, so the security and privacy screens are not empty.
      const demoAudit = new AuditLog(vigil.store.db);
      await seedDemoPosture(vigil.store.db, vigil.store.sqlite, demoAudit);
      await seedDemoConsents(vigil.store.db, vigil.store.sqlite, demoAudit, await vigil.patients.listIds());
      await probeDemoSecurity(serverUrl(config, vigil.httpPort), vigil.caPem, devices);
      // Clinicians read patients only through a care team: the demo clinician gets the sim ward.
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
      const url = serverUrl(config, vigil.httpPort);
      for (const line of [
        ...lines,
        `Vigil demo is running with ${o.devices} simulated devices.`,
        `  Dashboard  ${url}/   (trust ${join(config.dataDir, 'ca.crt')} in your browser, or accept the warning once)`,
        ...signIns,
        `  API        ${url}/api/v1/devices   (OpenAPI: ${url}/docs)`,
        `  MQTT       mqtts://${config.host}:${vigil.mqttPort}  (client certificates from ${join(config.dataDir, 'ca.crt')})`,
        `  Admin token for this session (12 h): ${demoToken.token}`,
        `  Clinician token (12 h, reads and acknowledges alerts): ${clinicianToken.token}`,
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
      stopOnSignal(async () => {
        clearInterval(timer);
        await fleet.stop();
        await vigil.stop();
      });
    });
}
