import type BetterSqlite3 from 'better-sqlite3';
import { open } from '../crypto/aead.ts';
import { chunkAad, chunksInRange, type PatientKeyLookup, stagingAad } from './observations.store.ts';
import { decodeColumns, type ReadingColumns } from './series-codec.ts';

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

  /** An upper bound of the readings a range holds (whole blocks), to refuse runaway queries. */
  readingsInRange(patientId: string, fromMs: number, toMs: number): number {
    return this.snapshot(() => {
      const a = this.chunkCount.get({ patient: patientId, from: fromMs, to: toMs }) as { n: number };
      const b = this.stagingCount.get(patientId, toMs, fromMs) as { n: number };
      return Number(a.n) + Number(b.n);
    });
  }
}
