import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import { GENESIS_HASH, TUPLE_COLUMNS } from './audit-hash.ts';
import type { ChainWalk, CheckpointRow } from './audit-verify.ts';

/**
 * Splits the chain walk of a file-backed SQLite trail over worker threads, each reading its own
 * seq range on its own read-only connection (WAL lets readers run beside the writer). The work
 * per entry is one SHA-256 over its own fields, which needs nothing from its neighbours; the
 * chain link is only a comparison with the stored hash of the entry before. So a range starts
 * from the stored hash of the last entry below it (one indexed lookup here), and the ranges
 * together find exactly what one walk over the whole trail finds, located at the same entries.
 *
 * The worker is plain JavaScript evaluated from a string, as in store/wal-checkpointer.ts, so it
 * runs the same from tsx and from the built dist/ without a loader. Its walk mirrors
 * verifyAudit's row loop in audit-verify.ts line for line; audit-verify.test.ts runs every
 * tampering case through both, so the two cannot drift apart unnoticed.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { hash } = require('node:crypto');
const Database = require(workerData.driver);
const w = workerData;
const db = new Database(w.file, { readonly: true, fileMustExist: true });
try {
  const checkpoints = new Map(w.checkpoints);
  const problems = [];
  const report = (p) => { if (problems.length < w.maxProblems) problems.push(p); };
  // The canonical form of audit-hash.ts tupleHash: the fields in order, the hash left out.
  const rowHash = (r, seq) =>
    hash('sha256', JSON.stringify([seq, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]]), 'hex');
  const cursor = db.prepare(w.sql).raw(true);
  let prevHash = w.prevHash;
  let expected = w.expected;
  let entries = 0;
  let lastSeq = 0;
  for (const row of cursor.iterate(w.fromSeq, w.toSeq)) {
    entries++;
    const seq = row[0];
    const own = row[10];
    if (seq > expected) {
      report({ kind: 'missing', at: expected,
        detail: 'entries ' + expected + (seq - 1 > expected ? '-' + (seq - 1) : '') + ' are missing' });
    }
    if (rowHash(row, seq) !== own) {
      let movedFrom;
      for (const d of [-3, -2, -1, 1, 2, 3]) {
        if (rowHash(row, seq + d) === own) { movedFrom = seq + d; break; }
      }
      report(movedFrom === undefined
        ? { kind: 'edited', at: seq, detail: 'entry ' + seq + ' was changed after it was written' }
        : { kind: 'reordered', at: seq, detail: 'entry ' + movedFrom + ' was moved to position ' + seq });
    } else if (row[9] !== prevHash && seq === expected) {
      report({ kind: 'relinked', at: seq, detail: 'entry ' + seq + ' does not follow entry ' + (seq - 1) });
    }
    const cp = checkpoints.get(seq);
    if (cp && cp[1] !== own) {
      report({ kind: 'checkpoint-mismatch', at: seq,
        detail: 'entry ' + seq + ' differs from what signed checkpoint ' + cp[0] + ' vouched for; the chain was rewritten' });
    }
    prevHash = own;
    expected = seq + 1;
    lastSeq = seq;
  }
  parentPort.postMessage({ entries, lastSeq, problems });
} finally {
  db.close();
}
`;

export interface ParallelOptions {
  /** Worker threads to use; default: the cores available, at most 4. */
  workers?: number | undefined;
  /** Below this many entries one thread is faster than starting workers. */
  minEntries?: number | undefined;
}

const DEFAULT_MIN_ENTRIES = 100_000;

/** Whether this trail is worth, and able, to be walked by workers (a file, not :memory:). */
export function canWalkInParallel(
  sqlite: BetterSqlite3.Database,
  opts: ParallelOptions,
): { fromSeq: number; toSeq: number; workers: number } | undefined {
  const workers = opts.workers ?? Math.min(4, availableParallelism());
  if (workers < 2 || sqlite.memory || sqlite.name === '') return undefined;
  const span = sqlite.prepare('SELECT min(seq) AS lo, max(seq) AS hi FROM audit_log').get() as {
    lo: number | null;
    hi: number | null;
  };
  if (span.lo === null || span.hi === null) return undefined;
  if (span.hi - span.lo + 1 < (opts.minEntries ?? DEFAULT_MIN_ENTRIES)) return undefined;
  return { fromSeq: span.lo, toSeq: span.hi, workers: Math.min(workers, span.hi - span.lo + 1) };
}

/**
 * Walks seq range [fromSeq, toSeq] in `workers` slices at once. The result is what the single
 * walk gives: entry count, last seq, and problems in seq order, at most `maxProblems`.
 */
export async function walkInParallel(
  sqlite: BetterSqlite3.Database,
  plan: { fromSeq: number; toSeq: number; workers: number },
  checkpoints: CheckpointRow[],
  maxProblems: number,
): Promise<ChainWalk> {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const sql = `SELECT ${TUPLE_COLUMNS} FROM audit_log WHERE seq >= ? AND seq <= ? ORDER BY seq`;
  const before = sqlite.prepare('SELECT seq, hash FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT 1');
  const size = Math.ceil((plan.toSeq - plan.fromSeq + 1) / plan.workers);
  const slices: Array<Promise<ChainWalk>> = [];
  for (let fromSeq = plan.fromSeq; fromSeq <= plan.toSeq; fromSeq += size) {
    const toSeq = Math.min(plan.toSeq, fromSeq + size - 1);
    // The first slice starts the chain like the single walk does: at entry 1, after genesis.
    const prev = before.get(fromSeq) as { seq: number; hash: string } | undefined;
    const inSlice = checkpoints
      .filter((c) => c.audit_seq >= fromSeq && c.audit_seq <= toSeq)
      .map((c) => [c.audit_seq, [c.id, c.audit_hash]]);
    slices.push(
      runWorker({
        driver,
        file: sqlite.name,
        sql,
        fromSeq,
        toSeq,
        expected: prev ? prev.seq + 1 : 1,
        prevHash: prev ? prev.hash : GENESIS_HASH,
        checkpoints: inSlice,
        maxProblems,
      }),
    );
  }
  const walks = await Promise.all(slices);
  const problems = walks.flatMap((w) => w.problems).slice(0, maxProblems);
  return {
    entries: walks.reduce((n, w) => n + w.entries, 0),
    lastSeq: walks.reduce((s, w) => Math.max(s, w.lastSeq), 0),
    problems,
  };
}

function runWorker(workerData: Record<string, unknown>): Promise<ChainWalk> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    let result: ChainWalk | undefined;
    worker.once('message', (m: ChainWalk) => {
      result = m;
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (result) resolve(result);
      else reject(new Error(`audit verification worker stopped with code ${code} before it finished`));
    });
  });
}
