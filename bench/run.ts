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
import { HELP, type Options, type Phase, parseArgs, UsageError } from './bench-options.ts';
import { cleanupAll, cleanupOnSignals } from './cleanup.ts';
import { runE2eIngest } from './e2e-ingest.ts';
import { MOSQUITTO, runMosquittoReference } from './mosquitto-reference.ts';
import { formatOcsp, type OcspBenchResult, runOcspBench } from './ocsp.ts';
import { type BenchResults, formatReport, resultsJson } from './report.ts';
import { runSqliteReference } from './sqlite-reference.ts';

/** Warm-ups before each window (seconds): JIT, TLS sessions, group-commit rhythm settle. */
const WARMUP = { peak: 4, rateLimited: 2, mosquitto: 3, sqlite: 1 } as const;

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
  let ocsp: OcspBenchResult | undefined;
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
        halfPeakRuns: o.halfPeakRuns,
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
        halfPeakRuns: o.halfPeakRuns,
        curve: o.curve,
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
    if (runs('ocsp')) {
      const p = progress('ocsp');
      ocsp = await runOcspBench({ answers: 5000 });
      p(`${Math.round(ocsp.signedPerSecond)} signed, ${Math.round(ocsp.cachedPerSecond)} cached answers/s`);
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
  if (ocsp) process.stdout.write(formatOcsp(ocsp));
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
