/**
 * `npm run bench`: end-to-end ingest through a real Vigil, then the references measured in the
 * same run (Mosquitto pass-through, raw SQLite inserts), then the report with ratios and the
 * issue's targets. Progress goes to stderr one line per phase; the report to stdout; the
 * figures to bench/results/latest.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type AuthzResult, formatAuthz, runAuthzBench } from './authz.ts';
import { cleanupAll, cleanupOnSignals } from './cleanup.ts';
import { runE2eIngest } from './e2e-ingest.ts';
import { CLIENT_KINDS, type ClientKind } from './load-generator.ts';
import { MOSQUITTO, runMosquittoReference } from './mosquitto-reference.ts';
import { type BenchResults, formatReport, resultsJson } from './report.ts';
import { runSqliteReference } from './sqlite-reference.ts';

const PHASES = ['e2e', 'mosquitto', 'sqlite', 'authz'] as const;
type Phase = (typeof PHASES)[number];

interface Options {
  devices: number;
  readingsPerMessage: number;
  inFlight: number;
  generatorThreads: number;
  client: ClientKind;
  assumePeak: number | undefined;
  seconds: number;
  only: Phase | undefined;
  profileServer: string | undefined;
}

const DEFAULTS: Options = {
  devices: 200,
  readingsPerMessage: 10,
  inFlight: 16,
  generatorThreads: 2,
  client: 'lean',
  assumePeak: undefined,
  seconds: 10,
  only: undefined,
  profileServer: undefined,
};

/** Warm-ups before each window (seconds): JIT, TLS sessions, group-commit rhythm settle. */
const WARMUP = { peak: 4, rateLimited: 2, mosquitto: 3, sqlite: 1 } as const;

const HELP = `Usage: npm run bench -- [options]

Measures Vigil's end-to-end ingest (readings/s committed, publish→PUBACK latency) and, in the
same run, raw Mosquitto QoS 1 pass-through and raw SQLite inserts, then prints ratios and the
targets, then the authorization overhead on a FHIR search (bench/authz.ts). Writes
bench/results/latest.json.

Options:
  --devices N               simulated devices, one MQTT connection each (1-2000, default ${DEFAULTS.devices})
  --readings-per-message N  readings in each telemetry message (1-500, default ${DEFAULTS.readingsPerMessage})
  --in-flight N             unacknowledged messages per device in the peak run (1-100, default ${DEFAULTS.inFlight})
  --generator-threads N     worker threads the end-to-end load generator is spread over (1-8, default ${DEFAULTS.generatorThreads})
  --client KIND             MQTT client of the simulated devices: lean (mqtt-packet over a socket, the
                            default) or mqtt.js; the Mosquitto reference uses the same
  --assume-peak N           run half and quarter peak at N/2 and N/4 messages/s instead of the measured
                            peak (to compare two builds at the same offered load)
  --seconds S               length of each measuring window (2-120, default ${DEFAULTS.seconds})
  --only PHASE              run one phase: ${PHASES.join(', ')}
  --profile-server DIR      write a V8 CPU profile of vigil serve (node --cpu-prof) into DIR
  --help                    show this text
`;

class UsageError extends Error {}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, not "${value.slice(0, 20)}"`);
  return value as T;
}

function wholeNumber(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, not "${value.slice(0, 20)}"`);
  return n;
}

export function parseArgs(argv: string[]): Options | 'help' {
  const o: Options = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') return 'help';
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const takeValue = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--devices':
        o.devices = wholeNumber(flag, takeValue(), 1, 2000);
        break;
      case '--readings-per-message':
        o.readingsPerMessage = wholeNumber(flag, takeValue(), 1, 500);
        break;
      case '--in-flight':
        o.inFlight = wholeNumber(flag, takeValue(), 1, 100);
        break;
      case '--seconds':
        o.seconds = wholeNumber(flag, takeValue(), 2, 120);
        break;
      case '--generator-threads':
        o.generatorThreads = wholeNumber(flag, takeValue(), 1, 8);
        break;
      case '--client':
        o.client = oneOf(flag, takeValue(), CLIENT_KINDS);
        break;
      case '--assume-peak':
        o.assumePeak = wholeNumber(flag, takeValue(), 1, 1_000_000);
        break;
      case '--only':
        o.only = oneOf(flag, takeValue(), PHASES);
        break;
      case '--profile-server': {
        const v = takeValue();
        if (v.trim() === '') throw new UsageError('--profile-server needs a directory');
        o.profileServer = v;
        break;
      }
      default:
        throw new UsageError(`unknown option "${arg.slice(0, 40)}"; see npm run bench -- --help`);
    }
  }
  return o;
}

function mosquittoVersion(): string | undefined {
  const r = spawnSync(MOSQUITTO, ['-h'], { encoding: 'utf8', timeout: 5000 });
  return /version (\S+)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1];
}

async function main(): Promise<number> {
  let options: Options | 'help';
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`bench: ${e.message}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const o = options;
  cleanupOnSignals();
  const t0 = performance.now();
  const stamp = () => `[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s]`;
  const progress = (phase: string) => (line: string) =>
    process.stderr.write(`${stamp()} ${phase}: ${line}\n`);
  const runs = (p: Phase) => o.only === undefined || o.only === p;
  let authz: AuthzResult | undefined;
  const results: BenchResults = {
    meta: {
      startedAt: new Date().toISOString(),
      durationSeconds: 0,
      node: process.version,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
      cores: cpus().length,
      mosquittoVersion: runs('mosquitto') ? mosquittoVersion() : undefined,
      options: {
        devices: o.devices,
        readingsPerMessage: o.readingsPerMessage,
        inFlight: o.inFlight,
        generatorThreads: o.generatorThreads,
        client: o.client,
        seconds: o.seconds,
        only: o.only,
      },
    },
    e2e: undefined,
    mosquitto: { plain: undefined, tls: undefined },
    sqlite: { plain: undefined, aesGcm: undefined },
  };
  try {
    if (runs('e2e')) {
      const p = progress('e2e');
      p(`provisioning a data dir and enrolling ${o.devices} devices…`);
      results.e2e = await runE2eIngest({
        devices: o.devices,
        readingsPerMessage: o.readingsPerMessage,
        inFlight: o.inFlight,
        generatorThreads: o.generatorThreads,
        client: o.client,
        assumedPeak: o.assumePeak,
        warmupSeconds: WARMUP.peak,
        rateWarmupSeconds: WARMUP.rateLimited,
        seconds: o.seconds,
        profileDir: o.profileServer,
        progress: p,
      });
    }
    if (runs('mosquitto')) {
      for (const tls of [false, true]) {
        const p = progress(tls ? 'mosquitto mTLS' : 'mosquitto plain');
        p(`starting ${MOSQUITTO} on a free loopback port…`);
        const m = await runMosquittoReference({
          devices: o.devices,
          readingsPerMessage: o.readingsPerMessage,
          inFlight: o.inFlight,
          client: o.client,
          generatorThreads: o.generatorThreads,
          warmupSeconds: WARMUP.mosquitto,
          seconds: o.seconds,
          tls,
          progress: p,
        });
        p(
          `${Math.round(m.deliveredPerSecond).toLocaleString('en-US')} messages/s delivered to the subscriber`,
        );
        if (tls) results.mosquitto.tls = m;
        else results.mosquitto.plain = m;
      }
    }
    if (runs('sqlite')) {
      for (const encrypt of [false, true]) {
        const p = progress(encrypt ? 'sqlite AES-GCM' : 'sqlite plain');
        p(`inserting rows for ${WARMUP.sqlite} s + ${o.seconds} s…`);
        const s = await runSqliteReference({ warmupSeconds: WARMUP.sqlite, seconds: o.seconds, encrypt });
        p(`${Math.round(s.rowsPerSecond).toLocaleString('en-US')} rows/s`);
        if (encrypt) results.sqlite.aesGcm = s;
        else results.sqlite.plain = s;
      }
    }
    if (runs('authz')) {
      const p = progress('authz');
      authz = await runAuthzBench({ runs: 500, progress: p });
      p(`${authz.overheadPercent.toFixed(1)} % overhead`);
    }
  } catch (e) {
    await cleanupAll();
    process.stderr.write(`bench: failed: ${(e as Error).message.split('\n')[0]}\n`);
    return 1;
  }
  await cleanupAll();
  results.meta.durationSeconds = (performance.now() - t0) / 1000;
  process.stdout.write(formatReport(results));
  if (authz) process.stdout.write(formatAuthz(authz));
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}latest.json`, resultsJson(results));
  process.stdout.write(`results written to bench/results/latest.json\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  async (e: unknown) => {
    await cleanupAll();
    process.stderr.write(`bench: unexpected error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
