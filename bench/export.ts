/**
 * Export benchmark (issue #4): `node --import tsx bench/export.ts [--days N]`.
 *
 * Seeds one patient with N days (default 7) of 1 Hz heart rate straight through the observation
 * store (sealed chunks, as ingest leaves them), then writes the patient's whole record as the
 * Patient/$everything Bundle to a byte-counting sink, identified and de-identified, in process.
 * Reference from the same run: reading every reading at once with SeriesReader.keyed (what a
 * non-streaming export would hold in memory) and JSON.stringify of those rows. Prints time,
 * readings/s and the growth of the heap and RSS over the run, for both.
 */

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PatientStore } from '../src/clinical/patients.store.ts';
import { SeriesStore } from '../src/clinical/series.store.ts';
import { SeriesReader } from '../src/clinical/series.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { DeviceStore } from '../src/devices/devices.store.ts';
import { createDeidentifier } from '../src/fhir/deidentify.ts';
import { everythingBundle } from '../src/fhir/patient-everything.ts';
import { CodeRegistry } from '../src/ingest/vital-codes.ts';
import { openStore } from '../src/store/database.ts';
import { cleanupAll, cleanupOnSignals, tempDir } from './cleanup.ts';
import { seedSeries } from './seed-series.ts';

const daysArg = process.argv.indexOf('--days');
const DAYS = daysArg > 0 ? Number(process.argv[daysArg + 1]) : 7;
if (!Number.isInteger(DAYS) || DAYS < 1 || DAYS > 60) {
  process.stderr.write('bench/export: --days must be an integer from 1 to 60\n');
  process.exit(2);
}
const PATIENT = 'bench-pat';
const DEVICE = 'bench-hr';

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;

async function measured(name: string, run: () => Promise<number>, readings: number): Promise<void> {
  global.gc?.();
  const before = process.memoryUsage();
  let peakHeap = before.heapUsed;
  let peakRss = before.rss;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakRss = Math.max(peakRss, m.rss);
  }, 20);
  const t = performance.now();
  const bytes = await run();
  const ms = performance.now() - t;
  clearInterval(sampler);
  const m = process.memoryUsage();
  peakHeap = Math.max(peakHeap, m.heapUsed);
  peakRss = Math.max(peakRss, m.rss);
  process.stdout.write(
    `${name.padEnd(50)} ${(ms / 1000).toFixed(2)} s  ${Math.round(readings / (ms / 1000)).toLocaleString('en')} readings/s  ${mib(bytes)} out  heap +${mib(peakHeap - before.heapUsed)}  rss +${mib(peakRss - before.rss)}\n`,
  );
}

async function main(): Promise<void> {
  cleanupOnSignals();
  const dir = tempDir('vigil-bench-export-');
  const store = await openStore({ dataDir: dir.path });
  try {
    const keys = new KeyRing(store.db, { id: 'mk-bench', key: randomBytes(32) });
    const startMs = Date.now() - DAYS * 86_400_000;
    const key = await seedSeries(store, keys, {
      patientId: PATIENT,
      name: 'Bench Patient',
      birthDate: '1950-01-01',
      deviceId: DEVICE,
      startMs,
      seconds: DAYS * 86_400,
      code: '8867-4',
      valueAt: (second) => 60 + (second % 40),
    });
    const readings = DAYS * 86_400;
    const patients = new PatientStore(store.db, keys);
    const devices = new DeviceStore(store.db);
    const registry = new CodeRegistry();
    const seriesStore = new SeriesStore(store.sqlite!, () => key);
    const series = new SeriesReader(seriesStore);
    const source = {
      db: store.db,
      patients,
      devices,
      series,
      seriesStore,
      registry,
      consents: async () => [],
    };
    process.stdout.write(`${readings.toLocaleString('en')} readings (${DAYS} days at 1 Hz), one patient\n`);

    const exportTo = (deidentified: boolean) => async () => {
      let bytes = 0;
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          bytes += chunk.length;
          done();
        },
      });
      const deidentifier = deidentified ? createDeidentifier(randomBytes(32), PATIENT) : undefined;
      const pieces = everythingBundle(source, PATIENT, {
        baseUrl: 'https://localhost/fhir/R4',
        ...(deidentifier ? { deidentifier } : {}),
      });
      await pipeline(Readable.from(pieces), sink);
      return bytes;
    };
    await measured('$everything, streamed', exportTo(false), readings);
    await measured('$everything, streamed, de-identified', exportTo(true), readings);
    await measured(
      'reference: every reading decoded at once, no FHIR',
      async () => {
        const rows = series.keyed(PATIENT, { fromMs: 0, toMs: Date.now() });
        return Buffer.byteLength(JSON.stringify(rows));
      },
      readings,
    );
  } finally {
    await store.close();
    await cleanupAll();
  }
}

await main();
