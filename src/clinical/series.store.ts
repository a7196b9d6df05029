import type BetterSqlite3 from 'better-sqlite3';
import { open } from '../crypto/aead.ts';
import {
  chunkAad,
  chunksInRange,
  MAX_CHUNK_SPAN_MS,
  type PatientKeyLookup,
  stagingAad,
} from './observations.store.ts';
import { decodeColumns, type ReadingColumns } from './series-codec.ts';

/** Index rows dataSpan reads from each end of a patient's chunks before settling for a bound. */
const SPAN_SEARCH_ROWS = 64;

/** One opened chunk or staging row: its device and its readings as columns. */
export interface ReadingBlock extends ReadingColumns {
  deviceId: string;
}

/** One decrypted chunk or staging row, not yet decoded. */
export interface OpenedBlock {
  deviceId: string;
  count: number;
  plain: Buffer;
}

/**
 * The read side of the reading tables for series queries. It opens only the chunks and
 * staging rows overlapping the asked range (chunksInRange: index on patient and start time,
 * then the plain end time and code list decide before anything is decrypted), and decodes them
 * into columns.
 *
 * The row identities bound into each seal (the AAD) come from the same builders
 * SqliteObservationStore seals with (chunkAad, stagingAad).
 */
export class SeriesStore {
  private readonly chunks: BetterSqlite3.Statement;
  private readonly staging: BetterSqlite3.Statement;
  private readonly newestByCodes: BetterSqlite3.Statement;
  private readonly stagingSpan: BetterSqlite3.Statement;
  private readonly chunkCount: BetterSqlite3.Statement;
  private readonly chunkCountsByCodes: BetterSqlite3.Statement;
  private readonly firstChunks: BetterSqlite3.Statement;
  private readonly lastChunks: BetterSqlite3.Statement;
  private readonly lastEndNear: BetterSqlite3.Statement;
  private readonly lastWideEnd: BetterSqlite3.Statement;
  private readonly stagingCount: BetterSqlite3.Statement;
  private readonly readTransaction: (read: () => unknown) => unknown;

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly keyOf: PatientKeyLookup,
  ) {
    this.readTransaction = db.transaction((read: () => unknown) => read());
    this.chunks = db.prepare(
      `${chunksInRange('id, device_id, start_ms, end_ms, count, codes, sealed')} ORDER BY start_ms`,
    );
    this.staging = db.prepare(
      'SELECT device_id, seq, min_ts, max_ts, count, sealed FROM reading_staging WHERE patient_id = ? AND min_ts <= ? AND max_ts >= ?',
    );
    this.newestByCodes = db.prepare(
      'SELECT codes, MIN(start_ms) AS first_ms, MAX(end_ms) AS last_ms FROM reading_chunks WHERE patient_id = ? GROUP BY codes',
    );
    this.stagingSpan = db.prepare(
      'SELECT MIN(min_ts) AS min_ts, MAX(max_ts) AS max_ts FROM reading_staging WHERE patient_id = ?',
    );
    this.chunkCount = db.prepare(`SELECT COALESCE(SUM(count), 0) AS n FROM (${chunksInRange('count')})`);
    this.chunkCountsByCodes = db.prepare(
      `SELECT codes, SUM(count) AS n FROM (${chunksInRange('count, codes')}) GROUP BY codes`,
    );
    // Through the (patient, start) index from either end; the span search reads a few rows.
    this.firstChunks = db.prepare(
      `SELECT start_ms, codes FROM reading_chunks WHERE patient_id = ? ORDER BY start_ms LIMIT ${SPAN_SEARCH_ROWS}`,
    );
    this.lastChunks = db.prepare(
      `SELECT start_ms, codes FROM reading_chunks WHERE patient_id = ? ORDER BY start_ms DESC LIMIT ${SPAN_SEARCH_ROWS}`,
    );
    this.lastEndNear = db.prepare(
      'SELECT MAX(end_ms) AS end_ms FROM reading_chunks WHERE patient_id = ? AND start_ms >= ? AND start_ms <= ?',
    );
    // Spelled as migration 0012's partial index is, so SQLite uses it (see chunksInRange).
    this.lastWideEnd = db.prepare(
      `SELECT MAX(end_ms) AS end_ms FROM reading_chunks WHERE patient_id = ? AND end_ms - start_ms > ${MAX_CHUNK_SPAN_MS}`,
    );
    this.stagingCount = db.prepare(
      'SELECT COALESCE(SUM(count), 0) AS n FROM reading_staging WHERE patient_id = ? AND min_ts <= ? AND max_ts >= ?',
    );
  }

  /**
   * Runs `read` on one snapshot of the database. The ingest writer commits on its own connection
   * and moves a run's staging rows into a chunk in one transaction; statements outside a
   * transaction each see the latest commit, so a reader that reads chunks and then staging rows
   * can miss the run sealed in between (found as a `latest` that lacked the newest readings). A
   * deferred transaction that only reads takes no write lock. Inside a transaction already
   * open on this connection, `read` just runs in it.
   */
  snapshot<T>(read: () => T): T {
    return this.db.inTransaction ? read() : (this.readTransaction(read) as T);
  }

  /** Opens (decrypts) every block overlapping [fromMs, toMs] that may hold one of the codes. */
  opened(patientId: string, fromMs: number, toMs: number, codes?: ReadonlySet<string>): OpenedBlock[] {
    return this.snapshot(() => this.openedNow(patientId, fromMs, toMs, codes));
  }

  private openedNow(
    patientId: string,
    fromMs: number,
    toMs: number,
    codes?: ReadonlySet<string>,
  ): OpenedBlock[] {
    const key = this.keyOf(patientId);
    const out: OpenedBlock[] = [];
    const rows = this.chunks.all({ patient: patientId, from: fromMs, to: toMs }) as Array<{
      id: string;
      device_id: string;
      start_ms: number;
      end_ms: number;
      count: number;
      codes: string;
      sealed: Buffer;
    }>;
    for (const c of rows) {
      if (codes && !c.codes.split(',').some((code) => codes.has(code))) continue;
      const aad = chunkAad(c.id, patientId, c.device_id, c.start_ms, c.end_ms, c.count);
      out.push({ deviceId: c.device_id, count: c.count, plain: open(key, c.sealed, aad) });
    }
    const staged = this.staging.all(patientId, toMs, fromMs) as Array<{
      device_id: string;
      seq: number;
      min_ts: number;
      max_ts: number;
      count: number;
      sealed: Buffer;
    }>;
    for (const s of staged) {
      const aad = stagingAad(s.device_id, s.seq, patientId, s.min_ts, s.max_ts, s.count);
      out.push({ deviceId: s.device_id, count: s.count, plain: open(key, s.sealed, aad) });
    }
    return out;
  }

  /** The blocks of opened(), decoded into columns. */
  blocks(patientId: string, fromMs: number, toMs: number, codes?: ReadonlySet<string>): ReadingBlock[] {
    return this.opened(patientId, fromMs, toMs, codes).map((b) => ({
      deviceId: b.deviceId,
      ...decodeColumns(b.plain),
    }));
  }

  /** For each code, the span from its first chunk's start to its last chunk's end (plain columns). */
  chunkSpanPerCode(patientId: string): Map<string, { firstMs: number; lastMs: number }> {
    const rows = this.newestByCodes.all(patientId) as Array<{
      codes: string;
      first_ms: number;
      last_ms: number;
    }>;
    const out = new Map<string, { firstMs: number; lastMs: number }>();
    for (const row of rows) {
      for (const code of row.codes.split(',')) {
        const seen = out.get(code);
        out.set(code, {
          firstMs: Math.min(seen?.firstMs ?? row.first_ms, row.first_ms),
          lastMs: Math.max(seen?.lastMs ?? row.last_ms, row.last_ms),
        });
      }
    }
    return out;
  }

  /** The time span covered by readings not yet sealed into chunks. */
  stagedSpan(patientId: string): { minMs: number; maxMs: number } | undefined {
    const row = this.stagingSpan.get(patientId) as { min_ts: number | null; max_ts: number | null };
    return row.min_ts === null || row.max_ts === null ? undefined : { minMs: row.min_ts, maxMs: row.max_ts };
  }

  /**
   * Bounds of the time span in which the patient's readings of `codes` (every code when absent)
   * lie: the first chunk holding one of them, else the first chunk at all, and the latest end
   * of a chunk starting near the last such chunk (a chunk spans at most MAX_CHUNK_SPAN_MS,
   * wider ones from before migration 0012 aside); staging rows whatever they hold (they carry
   * no code list). Bounds, not an exact span: a page only needs to skip the empty years before
   * and after. Both ends walk at most SPAN_SEARCH_ROWS index rows, where a GROUP BY over the
   * patient's chunks (chunkSpanPerCode) took ~50 ms for a month at 2 Hz. Undefined: no readings.
   */
  dataSpan(patientId: string, codes?: ReadonlySet<string>): { firstMs: number; lastMs: number } | undefined {
    return this.snapshot(() => {
      const holds = (row: { codes: string }) => !codes || row.codes.split(',').some((c) => codes.has(c));
      type Row = { start_ms: number; codes: string };
      let firstMs = Number.POSITIVE_INFINITY;
      let lastMs = Number.NEGATIVE_INFINITY;
      const first = this.firstChunks.all(patientId) as Row[];
      const last = this.lastChunks.all(patientId) as Row[];
      const firstRow = first.find(holds) ?? first[0];
      const lastRow = last.find(holds) ?? last[0];
      if (firstRow && lastRow) {
        firstMs = Number(firstRow.start_ms);
        const anchorMs = Number(lastRow.start_ms);
        const near = this.lastEndNear.get(patientId, anchorMs - MAX_CHUNK_SPAN_MS, anchorMs) as {
          end_ms: number;
        };
        const wide = this.lastWideEnd.get(patientId) as { end_ms: number | null };
        lastMs = Math.max(Number(near.end_ms), wide.end_ms === null ? lastMs : Number(wide.end_ms));
      }
      const staged = this.stagedSpan(patientId);
      if (staged) {
        firstMs = Math.min(firstMs, staged.minMs);
        lastMs = Math.max(lastMs, staged.maxMs);
      }
      return firstMs <= lastMs ? { firstMs, lastMs } : undefined;
    });
  }

  /**
   * An upper bound of the readings a range holds (whole blocks), to refuse runaway queries.
   * With `codes`, only chunks whose code list holds one of them count, as only those are opened.
   */
  readingsInRange(patientId: string, fromMs: number, toMs: number, codes?: ReadonlySet<string>): number {
    return this.snapshot(() => {
      const range = { patient: patientId, from: fromMs, to: toMs };
      let inChunks = 0;
      if (!codes) inChunks = Number((this.chunkCount.get(range) as { n: number }).n);
      else
        for (const row of this.chunkCountsByCodes.all(range) as Array<{ codes: string; n: number }>)
          if (row.codes.split(',').some((code) => codes.has(code))) inChunks += Number(row.n);
      const staged = this.stagingCount.get(patientId, toMs, fromMs) as { n: number };
      return inChunks + Number(staged.n);
    });
  }
}
