/**
 * Reference B: what one row per reading costs on this disk. A temp-file SQLite database with
 * Vigil's pragmas (WAL, synchronous=FULL: one fsync per commit), one row per reading
 * (device, code, ts, value), one index, 1,000 rows per transaction, as fast as it goes for
 * the window. Run twice: plain values, and each value sealed with AES-256-GCM by Vigil's own
 * seal() (random nonce, row identity as associated data), the figures DESIGN.md quotes.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { seal } from '../src/crypto/aead.ts';
import { tempDir } from './cleanup.ts';
import { deviceIdOf } from './fleet-provisioning.ts';

export interface SqliteOptions {
  warmupSeconds: number;
  seconds: number;
  encrypt: boolean;
}

export interface SqliteResult {
  encrypt: boolean;
  rowsPerSecond: number;
  rows: number;
  transactions: number;
  windowSeconds: number;
  /** Mean time of one 1,000-row transaction, fsync included. */
  meanTransactionMs: number;
}

const ROWS_PER_TRANSACTION = 1000;
const DEVICES = 200;
/** A hard stop on rows, whatever the disk does (about 20 GB of WAL would be far beyond it). */
const MAX_ROWS = 50_000_000;

export async function runSqliteReference(opts: SqliteOptions): Promise<SqliteResult> {
  const dir = tempDir('vigil-bench-sqlite-');
  const db = new BetterSqlite3(join(dir.path, 'rows.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(
      `CREATE TABLE readings (device TEXT NOT NULL, code TEXT NOT NULL, ts INTEGER NOT NULL, value ${opts.encrypt ? 'BLOB' : 'REAL'} NOT NULL);
       CREATE INDEX readings_device_ts ON readings (device, ts);`,
    );
    const insert = db.prepare('INSERT INTO readings (device, code, ts, value) VALUES (?, ?, ?, ?)');
    const key = randomBytes(32);
    const devices = Array.from({ length: DEVICES }, (_, i) => deviceIdOf(i));
    const value = Buffer.alloc(8);
    let n = 0;
    const baseTs = Date.now();
    const writeBatch = db.transaction(() => {
      for (let i = 0; i < ROWS_PER_TRANSACTION; i++, n++) {
        const device = devices[n % DEVICES] ?? '';
        const code = (n >> 1) % 2 === 0 ? '8867-4' : '59408-5';
        const ts = baseTs + Math.floor(n / DEVICES) * 1000;
        const v = code === '8867-4' ? 60 + (n % 40) : 94 + (n % 6);
        if (opts.encrypt) {
          value.writeDoubleLE(v);
          insert.run(device, code, ts, seal(key, value, `reading|${device}|${code}|${ts}`));
        } else {
          insert.run(device, code, ts, v);
        }
      }
    });

    const warmupEnd = performance.now() + opts.warmupSeconds * 1000;
    while (performance.now() < warmupEnd && n < MAX_ROWS) writeBatch();
    const started = performance.now();
    const deadline = started + opts.seconds * 1000;
    const rowsBefore = n;
    let transactions = 0;
    while (performance.now() < deadline && n < MAX_ROWS) {
      writeBatch();
      transactions += 1;
      // Let Ctrl-C and timers through between transactions.
      if (transactions % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    const windowSeconds = (performance.now() - started) / 1000;
    const rows = n - rowsBefore;
    return {
      encrypt: opts.encrypt,
      rowsPerSecond: rows / windowSeconds,
      rows,
      transactions,
      windowSeconds,
      meanTransactionMs: (1000 * windowSeconds) / Math.max(1, transactions),
    };
  } finally {
    db.close();
    await dir.remove();
  }
}
