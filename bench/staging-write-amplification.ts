/**
 * Write amplification of the ingest commit (ADR 0002), on the staging schema before and after
 * migration 0010 (reading_staging clustered by patient, device, seq). It drives the writer
 * thread's store as the writer does (deferSealing, sealSliceFor) with the writer's pragmas, and
 * reads what each commit appended to the WAL (wal_autocheckpoint=0, so nothing is checkpointed
 * away): frames are pages, and dbstat maps each page number to its table or index.
 *
 *   node --import tsx bench/staging-write-amplification.ts [commits=1000] [warmup=3000]
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { sealSliceFor } from '../src/clinical/observation-writer-protocol.ts';
import { type AcceptedMessage, SqliteObservationStore } from '../src/clinical/observations.store.ts';
import { migrateTo } from '../src/store/migrate.ts';

const DEVICES = 200;
const MESSAGES_PER_COMMIT = 30;
const READINGS_PER_MESSAGE = 10;
const MAX_READINGS = 256;
const WAL_HEADER = 32;
const FRAME_HEADER = 24;

function count(arg: string | undefined, fallback: number, what: string): number {
  if (arg === undefined) return fallback;
  if (!/^\d{1,7}$/.test(arg) || Number(arg) < 1) {
    process.stderr.write(`${what} must be a whole number from 1 to 9999999, not "${arg.slice(0, 20)}"\n`);
    process.exit(2);
  }
  return Number(arg);
}
const commits = count(process.argv[2], 1000, 'commits');
const warmup = count(process.argv[3], 3000, 'warmup');

interface Result {
  schema: string;
  bytesPerCommit: number;
  pagesPerCommit: number;
  pagesByObject: Record<string, number>;
  msP50: number;
  msP99: number;
}

/** Page number of every frame appended to the WAL between byte offsets `from` and `to`. */
function framePages(wal: string, from: number, to: number, pageSize: number): number[] {
  const fd = openSync(wal, 'r');
  const header = Buffer.alloc(4);
  const pages: number[] = [];
  try {
    for (let at = Math.max(from, WAL_HEADER); at + FRAME_HEADER <= to; at += FRAME_HEADER + pageSize) {
      readSync(fd, header, 0, 4, at);
      pages.push(header.readUInt32BE(0));
    }
  } finally {
    closeSync(fd);
  }
  return pages;
}

async function measure(upTo: string): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-wamp-'));
  const file = join(dir, 'vigil.db');
  const db = new BetterSqlite3(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('wal_autocheckpoint = 0');
    const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) });
    await migrateTo(kysely, 'sqlite', upTo);
    // Today's store also keeps sealed messages' hashes (migration 0011), in both arms alike.
    db.exec(
      'CREATE TABLE IF NOT EXISTS redelivery_window (device_id TEXT NOT NULL, seq INTEGER NOT NULL, patient_id TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (device_id, seq, patient_id)) WITHOUT ROWID',
    );
    const addDevice = db.prepare(
      "INSERT INTO devices (id, model, serial, status, created_at) VALUES (?, 'm', ?, 'active', 0)",
    );
    const keys = new Map<string, Buffer>();
    for (let d = 0; d < DEVICES; d++) {
      addDevice.run(`dev-${d}`, `s-${d}`);
      keys.set(`pat-${d}`, randomBytes(32));
    }
    const store = new SqliteObservationStore(
      db,
      () => 0,
      (patientId) => keys.get(patientId)!,
      { maxReadings: MAX_READINGS, maxSpanMs: 3_600_000, deferSealing: true },
    );

    const seqs = new Array<number>(DEVICES).fill(0);
    const t0 = Date.parse('2026-11-27T00:00:00Z');
    const batch = (): AcceptedMessage[] =>
      Array.from({ length: MESSAGES_PER_COMMIT }, () => {
        const d = Math.floor(Math.random() * DEVICES);
        const seq = ++seqs[d]!;
        const base = t0 + seq * READINGS_PER_MESSAGE * 1000;
        const readings = Array.from({ length: READINGS_PER_MESSAGE }, (_, i) => ({
          code: i % 2 ? '59408-5' : '8867-4',
          value: i % 2 ? 95 + (seq % 4) : 60 + ((seq + i) % 30),
          tsMs: base + i * 1000,
        }));
        return {
          deviceId: `dev-${d}`,
          seq,
          hash: randomBytes(16).toString('hex'),
          receivedMs: base,
          parts: [{ patientId: `pat-${d}`, readings }],
        };
      });
    const commit = () => {
      const messages = batch();
      store.commitBatch(
        messages,
        sealSliceFor(store.dueChunks, messages.length * READINGS_PER_MESSAGE, MAX_READINGS),
      );
    };

    // Warm up until every device has an open run at a random fill and chunks have piled up.
    for (let i = 0; i < warmup; i++) commit();
    db.pragma('wal_checkpoint(TRUNCATE)');

    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const wal = `${file}-wal`;
    const size = () => {
      try {
        return statSync(wal).size;
      } catch {
        return 0;
      }
    };
    const ownerQuery = db.prepare('SELECT name, pageno FROM dbstat');
    // A page's owner as of the commit that wrote it: pages freed by staging deletes are reused
    // by later chunk inserts, so one map taken at the end would misattribute them.
    const owners = () => {
      const owner = new Map<number, string>();
      for (const row of ownerQuery.all() as Array<{ name: string; pageno: number }>)
        owner.set(row.pageno, row.name);
      return owner;
    };
    const startBytes = size();
    const times: number[] = [];
    const pagesByObject: Record<string, number> = {};
    let pages = 0;
    for (let i = 0; i < commits; i++) {
      const before = size();
      const t = performance.now();
      commit();
      times.push(performance.now() - t);
      const owner = owners();
      for (const p of framePages(wal, before, size(), pageSize)) {
        const name = owner.get(p) ?? 'freelist';
        pagesByObject[name] = (pagesByObject[name] ?? 0) + 1 / commits;
        pages++;
      }
    }
    const endBytes = size();
    for (const k of Object.keys(pagesByObject)) pagesByObject[k] = Number(pagesByObject[k]!.toFixed(1));
    times.sort((a, b) => a - b);
    await kysely.destroy();
    return {
      schema: upTo,
      bytesPerCommit: Math.round((endBytes - startBytes) / commits),
      pagesPerCommit: Number((pages / commits).toFixed(1)),
      pagesByObject,
      msP50: Number(times[Math.floor(commits * 0.5)]!.toFixed(2)),
      msP99: Number(times[Math.floor(commits * 0.99)]!.toFixed(2)),
    };
  } finally {
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const upTo of ['0009-questionable-readings', '0010-staging-clustered']) {
  console.log(JSON.stringify(await measure(upTo)));
}
