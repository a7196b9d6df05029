/**
 * Query benchmark (issue #3, "Speed"): `node --import tsx bench/queries.ts [--runs N]`.
 *
 * Seeds one patient with 7 days of 1 Hz heart rate (604,800 readings) straight through the
 * observation store (sealed chunks, as ingest leaves them), starts a real Vigil on that data
 * dir and measures, each against a reference read in the same run:
 * 1. the chart query: 7 days downsampled to 1,000 points with LTTB (target < 100 ms), in
 *    process (SeriesReader + LTTB) and end to end over HTTPS
 *    (GET /api/v1/patients/{id}/observations?downsample=lttb&points=1000, audit entry included);
 *    reference: a raw SQLite read of the same chunk rows, without decryption or decoding;
 * 2. a FHIR Observation search for one patient and one day (target < 50 ms), end to end over
 *    HTTPS (first page, _count=1000 of the day's 86,400); reference: the raw SQLite read of
 *    that day's chunk rows.
 * Prints median and p90 of each and the ratio of medians.
 */
import { Agent } from 'node:https';
import { performance } from 'node:perf_hooks';
import { chunksInRange } from '../src/clinical/observations.store.ts';
import { SeriesStore } from '../src/clinical/series.store.ts';
import { SeriesReader } from '../src/clinical/series.ts';
import { lttbIndexes } from '../src/clinical/series-downsample.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { loadMasterKeyFile } from '../src/crypto/master-key.ts';
import { cleanupAll, cleanupOnSignals, onCleanup } from './cleanup.ts';
import { httpsGet, startSeededVigil } from './seed-series.ts';

const DAYS = 7;
const READINGS = DAYS * 86_400;
const PATIENT = 'bench-pat';
const DEVICE = 'bench-hr';
const HR = '8867-4';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 20;
if (!Number.isInteger(RUNS) || RUNS < 3 || RUNS > 1000) {
  process.stderr.write('bench/queries: --runs must be an integer from 3 to 1000\n');
  process.exit(2);
}

interface Stats {
  medianMs: number;
  p90Ms: number;
}

async function measure(run: () => unknown | Promise<unknown>): Promise<Stats> {
  for (let i = 0; i < 3; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return {
    medianMs: times[Math.floor(times.length / 2)]!,
    p90Ms: times[Math.min(times.length - 1, Math.floor(times.length * 0.9))]!,
  };
}

/** A heart rate that moves like one: a slow circadian swing, minute-scale wander, noise. */
function heartRate(second: number): number {
  return Math.round(
    70 +
      8 * Math.sin((2 * Math.PI * second) / 86_400) +
      5 * Math.sin(second / 97) +
      ((second * 7919) % 5) -
      2,
  );
}

/** Seeds the week of readings; returns how long writing them took (ms). */
const fmt = (s: Stats) => `median ${s.medianMs.toFixed(1)} ms, p90 ${s.p90Ms.toFixed(1)} ms`;

async function main(): Promise<void> {
  const dayMs = 86_400_000;
  const startMs = Math.floor(Date.now() / dayMs) * dayMs - DAYS * dayMs;
  const endMs = startMs + READINGS * 1000 - 1;
  const { vigil, config, token, seedMs } = await startSeededVigil({
    dirPrefix: 'vigil-bench-queries-',
    series: {
      patientId: PATIENT,
      name: 'Bench Patient',
      deviceId: DEVICE,
      startMs,
      seconds: READINGS,
      code: HR,
      valueAt: heartRate,
    },
    clinician: 'bench',
    ward: { id: 'bench-ward', name: 'Bench ward' },
  });
  process.stdout.write(`seeded ${READINGS} readings (7 days at 1 Hz) in ${(seedMs / 1000).toFixed(1)} s\n`);
  const sqlite = vigil.store.sqlite!;
  const chunkCount = (
    sqlite.prepare('SELECT COUNT(*) AS n FROM reading_chunks WHERE patient_id = ?').get(PATIENT) as {
      n: number;
    }
  ).n;
  // The reference reads the same rows the store's readers do, without opening them.
  const rawChunks = sqlite.prepare(chunksInRange('id, device_id, start_ms, end_ms, count, codes, sealed'));
  const rawRead = (fromMs: number, toMs: number) => {
    const rows = rawChunks.all({ patient: PATIENT, from: fromMs, to: toMs }) as Array<{ sealed: Buffer }>;
    let bytes = 0;
    for (const r of rows) bytes += r.sealed.length;
    return bytes;
  };

  const keys = new KeyRing(vigil.store.db, loadMasterKeyFile(config.masterKeyFile));
  const key = await keys.dataKey('patient', PATIENT);
  const reader = new SeriesReader(new SeriesStore(sqlite, () => key));
  let kept = 0;
  const chartInProcess = await measure(() => {
    const points = reader.points(PATIENT, { fromMs: startMs, toMs: endMs, codes: new Set([HR]) }).get(HR)!;
    kept = lttbIndexes(points, 1000).length;
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  onCleanup('agent', () => agent.destroy());
  const base = `https://127.0.0.1:${vigil.httpPort}`;
  const chartUrl = `${base}/api/v1/patients/${PATIENT}/observations?code=${HR}&from=${new Date(startMs).toISOString()}&to=${new Date(endMs).toISOString()}&downsample=lttb&points=1000`;
  const check = await httpsGet(agent, vigil.caPem, chartUrl, token);
  const series = (JSON.parse(check.body) as { series: Array<{ readings: number; points: unknown[] }> })
    .series[0];
  if (check.status !== 200 || series?.readings !== READINGS || series.points.length !== 1000)
    throw new Error(`chart query answered ${check.status}: ${check.body.slice(0, 200)}`);
  const chartHttp = await measure(() => httpsGet(agent, vigil.caPem, chartUrl, token));
  const chartRef = await measure(() => rawRead(startMs, endMs));

  const dayFrom = startMs + 3 * dayMs;
  const fhirUrl = `${base}/fhir/R4/Observation?patient=${PATIENT}&date=ge${new Date(dayFrom).toISOString()}&date=lt${new Date(dayFrom + dayMs).toISOString()}&_count=1000`;
  const fhirCheck = await httpsGet(agent, vigil.caPem, fhirUrl, token);
  const bundle = JSON.parse(fhirCheck.body) as { entry?: unknown[]; link: Array<{ relation: string }> };
  if (
    fhirCheck.status !== 200 ||
    bundle.entry?.length !== 1000 ||
    !bundle.link.some((l) => l.relation === 'next')
  )
    throw new Error(`FHIR search answered ${fhirCheck.status}: ${fhirCheck.body.slice(0, 200)}`);
  const fhir = await measure(() => httpsGet(agent, vigil.caPem, fhirUrl, token));
  const fhirRef = await measure(() => rawRead(dayFrom, dayFrom + dayMs - 1));

  const lines = [
    '',
    `data: ${READINGS} readings of one patient in ${chunkCount} sealed chunks; ${RUNS} runs after 3 warm-up runs`,
    '',
    `chart query, 7 days -> ${kept} points (LTTB), in process   ${fmt(chartInProcess)}   target < 100 ms`,
    `chart query over HTTPS (JSON, audit entry included)       ${fmt(chartHttp)}`,
    `  reference: raw SQLite read of the same chunk rows        ${fmt(chartRef)}`,
    `  ratio (in process / reference): ${(chartInProcess.medianMs / chartRef.medianMs).toFixed(1)}x, (HTTPS / reference): ${(chartHttp.medianMs / chartRef.medianMs).toFixed(1)}x`,
    '',
    `FHIR Observation search, 1 patient, 1 day, first 1000    ${fmt(fhir)}   target < 50 ms`,
    `  reference: raw SQLite read of that day's chunk rows      ${fmt(fhirRef)}`,
    `  ratio (FHIR / reference): ${(fhir.medianMs / fhirRef.medianMs).toFixed(1)}x`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

cleanupOnSignals();
main()
  .catch((e: unknown) => {
    process.stderr.write(`bench/queries failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
