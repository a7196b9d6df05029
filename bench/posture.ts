/**
 * Posture benchmark (issue 5). Run alone: `node --import tsx bench/posture.ts [--scale 0.1]`.
 *
 * 1. Matching: 5,000 devices on 200 distinct firmware SBOMs of 300 components each against
 *    200,000 OSV advisories (target < 5 s): index build + assess() (match per distinct SBOM,
 *    VEX, risk, recommendations for every device). Reference, same data, same run: SQLite
 *    (in memory, indexed) doing only the package-key join of SBOM components to advisories.
 * 2. Import: 500,000 OSV advisories from 10 files through importAdvisoryPaths into a real
 *    Vigil SQLite store (WAL, synchronous=FULL) (target < 120 s). Reference: raw
 *    better-sqlite3 inserts of the same rows into a table of the same shape, one transaction
 *    per 5,000 rows. Then a re-import, which must change nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { importAdvisoryPaths } from '../src/posture/advisory-import.ts';
import { parseOsv } from '../src/posture/advisory-osv.ts';
import { assess } from '../src/posture/assessment.ts';
import { AdvisoryIndex, componentKeys } from '../src/posture/matcher.ts';
import type { InventoryRow } from '../src/posture/posture.store.ts';
import { PostureStore, sha256 } from '../src/posture/posture.store.ts';
import type { Advisory, DeviceModel } from '../src/posture/types.ts';
import { VexIndex } from '../src/posture/vex.ts';
import { openStore } from '../src/store/database.ts';
import { osvEntry, packages, rng, sbomComponents } from './posture-data.ts';

const scaleArg = process.argv.indexOf('--scale');
const SCALE = scaleArg > 0 ? Number(process.argv[scaleArg + 1]) : 1;
if (!(SCALE > 0 && SCALE <= 1)) {
  process.stderr.write('bench/posture: --scale must be a number in (0, 1]\n');
  process.exit(2);
}
const n = (x: number) => Math.max(1, Math.round(x * SCALE));
const DEVICES = n(5_000);
const SBOMS = n(200);
const COMPONENTS = 300;
const MATCH_ADVISORIES = n(200_000);
const IMPORT_ADVISORIES = n(500_000);
const IMPORT_FILES = 10;
const PACKAGES = 30_000;

const ms = (t0: number) => performance.now() - t0;
/** CPU time of this process (user + system): on a shared machine, wall time also counts other processes. */
const cpuMs = (c0: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};
const fmt = (x: number) => `${(x / 1000).toFixed(2)} s`;

function matchingData() {
  const pkgs = packages(PACKAGES);
  const models: DeviceModel[] = Array.from({ length: 20 }, (_, i) => ({
    model: `Model-${i}`,
    manufacturer: `Maker-${i % 5}`,
    deviceClass: 'infusion pump',
    criticality: (['life-sustaining', 'therapeutic', 'diagnostic', 'monitoring', 'wellness'] as const)[
      i % 5
    ]!,
    endOfSupportMs: Date.parse('2027-06-01'),
    encryption: 'in-transit',
    authentication: 'certificate',
    patchability: 'manual',
  }));
  const sboms = Array.from({ length: SBOMS }, (_, i) => ({
    model: `Model-${i % 20}`,
    firmware: `${1 + Math.floor(i / 20)}.0.0`,
    // As stored by SBOM import: package keys worked out once (packageurl-js) at import time.
    components: sbomComponents(pkgs, COMPONENTS, i + 1).map((c) => ({ ...c, keys: componentKeys(c) })),
  }));
  const inventory: InventoryRow[] = Array.from({ length: DEVICES }, (_, i) => {
    const s = sboms[i % SBOMS]!;
    return {
      id: `dev-${i}`,
      model: s.model,
      serial: `SN${i}`,
      status: 'active',
      firmware: s.firmware,
      patientAssigned: i % 2 === 0,
      lastSeenMs: Date.now(),
      certificateNotAfter: Date.now() + 300 * 86_400_000,
      zone: (['clinical', 'enterprise', 'isolated', 'guest'] as const)[i % 4]!,
      connection: i % 10 === 0 ? 'legacy' : 'mtls',
      internetReachable: false,
    };
  });
  const r = rng(42);
  const osv = Array.from({ length: MATCH_ADVISORIES }, (_, i) => osvEntry(i, pkgs, r));
  return { models, sboms, inventory, osv };
}

function benchMatching() {
  const data = matchingData();
  const advisories: Advisory[] = parseOsv(data.osv);
  data.osv.length = 0; // the raw feed is not part of what matching holds in memory
  const heapBefore = process.memoryUsage().heapUsed;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const index = new AdvisoryIndex(advisories);
  const indexMs = ms(t0);
  // Matching proper: each distinct firmware SBOM once, then every device takes its SBOM's result.
  const t1a = performance.now();
  const byFirmware = new Map<string, number>();
  for (const sb of data.sboms)
    byFirmware.set(`${sb.model}|${sb.firmware}`, index.match(sb.components).length);
  let deviceMatches = 0;
  for (const d of data.inventory) deviceMatches += byFirmware.get(`${d.model}|${d.firmware}`) ?? 0;
  const matchMs = ms(t1a);
  const matchCpuMs = cpuMs(c0);
  process.stdout.write(
    `  heap: ${Math.round(heapBefore / 1e6)} MB before, ${Math.round(process.memoryUsage().heapUsed / 1e6)} MB after matching\n`,
  );
  const t1 = performance.now();
  const c1 = process.cpuUsage();
  const report = assess({
    models: data.models,
    inventory: data.inventory,
    sboms: data.sboms,
    index,
    kev: [],
    epss: [],
    vex: new VexIndex([]),
    nowMs: Date.now(),
  });
  const assessMs = ms(t1);
  const assessCpuMs = cpuMs(c1);

  // Reference: the key join alone, in SQLite, over the same components and advisory keys.
  const db = new BetterSqlite3(':memory:');
  db.exec(
    'CREATE TABLE comp (sbom INTEGER, key TEXT, version TEXT); CREATE TABLE adv (id TEXT, key TEXT); CREATE INDEX adv_key ON adv(key);',
  );
  const ic = db.prepare('INSERT INTO comp VALUES (?, ?, ?)');
  const ia = db.prepare('INSERT INTO adv VALUES (?, ?)');
  db.transaction(() => {
    data.sboms.forEach((s, i) => {
      for (const c of s.components) for (const k of componentKeys(c)) ic.run(i, k.key, k.version);
    });
    for (const a of advisories) for (const af of a.affected) ia.run(a.id, af.key);
  })();
  const t2 = performance.now();
  const c2 = process.cpuUsage();
  const pairs = (
    db.prepare('SELECT count(*) AS n FROM comp JOIN adv ON adv.key = comp.key').get() as { n: number }
  ).n;
  const refMs = ms(t2);
  const refCpuMs = cpuMs(c2);
  db.close();
  return {
    indexMs,
    matchMs,
    matchCpuMs,
    assessMs,
    assessCpuMs,
    totalMs: indexMs + matchMs,
    refMs,
    refCpuMs,
    pairs,
    deviceMatches,
    findings: report.summary.findings,
  };
}

async function benchImport() {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-posture-'));
  try {
    const pkgs = packages(PACKAGES);
    const r = rng(7);
    const perFile = Math.ceil(IMPORT_ADVISORIES / IMPORT_FILES);
    const feed = join(dir, 'feed');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(feed);
    let written = 0;
    for (let f = 0; f < IMPORT_FILES && written < IMPORT_ADVISORIES; f++) {
      const count = Math.min(perFile, IMPORT_ADVISORIES - written);
      const entries = Array.from({ length: count }, (_, i) => osvEntry(written + i, pkgs, r));
      writeFileSync(join(feed, `osv-${String(f).padStart(2, '0')}.json`), JSON.stringify(entries));
      written += count;
    }
    const store = await openStore({ dataDir: join(dir, 'vigil') });
    const posture = new PostureStore(store.db, store.sqlite);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const first = await importAdvisoryPaths(posture, [feed]);
    const importMs = ms(t0);
    const importCpuMs = cpuMs(c0);
    const t1 = performance.now();
    const again = await importAdvisoryPaths(posture, [feed]);
    const reimportMs = ms(t1);
    await store.close();

    // Reference: the same rows (parsed and hashed beforehand, so only the writes are timed).
    const rows: unknown[][] = [];
    const { readdirSync, readFileSync } = await import('node:fs');
    for (const name of readdirSync(feed).sort()) {
      for (const a of parseOsv(JSON.parse(readFileSync(join(feed, name), 'utf8')))) {
        const body = JSON.stringify([a.source, a.aliases, a.summary, a.cvssVector, a.affected]);
        rows.push([
          a.id,
          a.source,
          JSON.stringify(a.aliases),
          a.summary,
          a.cvssVector,
          null,
          JSON.stringify(a.affected),
          null,
          a.modifiedMs,
          sha256(body),
          Date.now(),
        ]);
      }
    }
    const raw = new BetterSqlite3(join(dir, 'raw.db'));
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = FULL');
    raw.exec(
      'CREATE TABLE posture_advisories (id TEXT PRIMARY KEY, source TEXT NOT NULL, aliases TEXT NOT NULL, summary TEXT NOT NULL, cvss_vector TEXT, severity_score REAL, affected TEXT NOT NULL, remediation TEXT, modified_ms BIGINT, content_hash TEXT NOT NULL, imported_at BIGINT NOT NULL)',
    );
    const insert = raw.prepare('INSERT INTO posture_advisories VALUES (?,?,?,?,?,?,?,?,?,?,?)');
    const batch = raw.transaction((chunk: unknown[][]) => {
      for (const row of chunk) insert.run(...row);
    });
    const c2 = process.cpuUsage();
    const t2 = performance.now();
    for (let i = 0; i < rows.length; i += 5000) batch(rows.slice(i, i + 5000));
    const refMs = ms(t2);
    const refCpuMs = cpuMs(c2);
    raw.close();
    return { importMs, importCpuMs, reimportMs, refMs, refCpuMs, first, again };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
process.stdout.write(
  `posture benchmark (scale ${SCALE}): ${DEVICES} devices, ${SBOMS} SBOMs x ${COMPONENTS} components, ${MATCH_ADVISORIES} advisories to match, ${IMPORT_ADVISORIES} to import\n`,
);
if (only !== 'import') {
  const m = benchMatching();
  process.stdout.write(
    [
      `matching: ${fmt(m.totalMs)} wall, ${fmt(m.matchCpuMs)} CPU (index ${fmt(m.indexMs)} + match ${fmt(m.matchMs)}), ${m.deviceMatches} device findings; target < 5 s: ${m.totalMs < 5000 ? 'met' : 'MISSED'}`,
      `  full assessment (VEX, CVSS, risk parts, fix firmware, recommendations for every device): ${fmt(m.assessMs)} wall, ${fmt(m.assessCpuMs)} CPU, ${m.findings} findings`,
      `  reference: SQLite indexed key join alone ${fmt(m.refMs)} wall, ${fmt(m.refCpuMs)} CPU (${m.pairs} candidate pairs); ratio Vigil / reference ${(m.totalMs / m.refMs).toFixed(2)} wall, ${(m.matchCpuMs / m.refCpuMs).toFixed(2)} CPU`,
      `  load average while running: ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} on ${cpus().length} cores`,
      '',
    ].join('\n'),
  );
}
if (only !== 'matching') {
  const i = await benchImport();
  process.stdout.write(
    [
      `import: ${fmt(i.importMs)} wall, ${fmt(i.importCpuMs)} CPU for ${i.first.advisories.inserted} advisories (${Math.round(i.first.advisories.inserted / (i.importMs / 1000))}/s), files read, parsed, validated, hashed and written; target < 120 s: ${i.importMs < 120_000 ? 'met' : 'MISSED'}`,
      `  reference: raw better-sqlite3 insert of the same rows (already parsed) ${fmt(i.refMs)} wall, ${fmt(i.refCpuMs)} CPU; ratio Vigil / reference ${(i.importMs / i.refMs).toFixed(2)} wall, ${(i.importCpuMs / i.refCpuMs).toFixed(2)} CPU`,
      `  load average: ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} on ${cpus().length} cores`,
      `  re-import: ${fmt(i.reimportMs)}, ${i.again.skippedFiles}/${i.again.files} files skipped, ${i.again.advisories.inserted + i.again.advisories.updated} rows written`,
      '',
    ].join('\n'),
  );
}
