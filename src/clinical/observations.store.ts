import { randomUUID } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import { open, seal } from '../crypto/aead.ts';
import { ERASED_FINGERPRINT } from '../ingest/message-fingerprint.ts';
import { type DecimalsOf, decodeReadings, encodeReadings, type Reading } from './readings-codec.ts';

/** One accepted telemetry message, split by the patient who wore the device at each reading. */
export interface AcceptedMessage {
  deviceId: string;
  seq: number;
  hash: string;
  receivedMs: number;
  parts: Array<{ patientId: string; readings: Reading[] }>;
}

export interface StoredReading extends Reading {
  deviceId: string;
}

export interface RangeQuery {
  fromMs: number;
  toMs: number;
  codes?: ReadonlySet<string>;
}

/** Looks up a loaded patient data key; the pipeline loads it before a message reaches the store. */
export type PatientKeyLookup = (patientId: string) => Buffer;

interface OpenChunk {
  patientId: string;
  deviceId: string;
  readings: Reading[];
  maxSeq: number;
  minTs: number;
  maxTs: number;
}

export interface ChunkPolicy {
  maxReadings: number;
  maxSpanMs: number;
  /**
   * Leave full runs open after the commit that filled them and seal them later with sealDue(),
   * in transactions of their own: the ingest writer does this so a commit (and the PUBACKs
   * waiting on it) never carries the cost of a burst of chunks filling at once.
   */
  deferSealing?: boolean;
}

export const DEFAULT_CHUNK_POLICY: ChunkPolicy = { maxReadings: 256, maxSpanMs: 3_600_000 };

/**
 * The widest a chunk row may be. Readers find chunks through the index on (patient, start
 * time), looking back this far before the asked range; a run wider than this (a device's
 * backfill of buffered readings, alone or beside live ones; ingest accepts 30 days of it) is
 * sealed as several chunks. Releases before migration 0012 sealed a run whatever its span;
 * chunksInRange still finds those chunks through that migration's partial index, whose
 * WHERE repeats this number literally (SQLite uses a partial index only for a query that
 * spells out the index's own condition).
 */
export const MAX_CHUNK_SPAN_MS = 86_400_000;

/**
 * Chunks of patient `@patient` that may hold readings in [`@from`, `@to`]: through the
 * (patient, start) index, those starting at most MAX_CHUNK_SPAN_MS before the range; through
 * the partial index of migration 0012, the few wider ones an earlier release sealed. The two
 * halves are disjoint. `columns` names what to select; wrap it to aggregate. The unary `+`
 * keeps SQLite from answering the second half with the (patient, start) index, in start order
 * for an ORDER BY: that would walk the patient's whole history before the range.
 */
export const chunksInRange = (columns: string): string =>
  `SELECT ${columns} FROM reading_chunks WHERE patient_id = @patient AND start_ms >= @from - ${MAX_CHUNK_SPAN_MS} AND start_ms <= @to AND end_ms >= @from` +
  ` UNION ALL SELECT ${columns} FROM reading_chunks WHERE patient_id = @patient AND end_ms - start_ms > ${MAX_CHUNK_SPAN_MS} AND end_ms >= @from AND +start_ms < @from - ${MAX_CHUNK_SPAN_MS}`;

/**
 * Sealed messages whose fingerprints a device keeps after its staging rows go: at least the MQTT
 * gateway's receive maximum (100), the most a device can have committed but not yet
 * acknowledged when the server dies.
 */
export const REDELIVERY_WINDOW = 128;

/** The row identity bound into a staging row's seal; readers (series.store.ts) use it too. */
export const stagingAad = (
  deviceId: string,
  seq: number,
  patientId: string,
  minTs: number,
  maxTs: number,
  count: number,
) => `staging|${deviceId}|${seq}|${patientId}|${minTs}|${maxTs}|${count}`;
/** The row identity bound into a chunk's seal. */
export const chunkAad = (
  id: string,
  patientId: string,
  deviceId: string,
  startMs: number,
  endMs: number,
  count: number,
) => `chunk|${id}|${patientId}|${deviceId}|${startMs}|${endMs}|${count}`;

/**
 * Readings on SQLite, stored as time-series databases do (see DESIGN.md "Storing readings
 * fast"): each accepted message is first committed as one small sealed staging row (that
 * commit is what the PUBACK waits for); once a device's open run for a patient holds enough
 * readings, it is sealed into one compact chunk row and its staging rows are deleted in the
 * same transaction. Queries read the chunks in range plus the staging rows still open.
 */
export class SqliteObservationStore {
  private readonly open = new Map<string, OpenChunk>();
  /** Full runs waiting for sealDue() (deferSealing only). */
  private readonly due = new Set<OpenChunk>();
  private readonly insertStaging: BetterSqlite3.Statement;
  private readonly updateDevice: BetterSqlite3.Statement;
  private readonly insertChunk: BetterSqlite3.Statement;
  private readonly selectLast: BetterSqlite3.Statement;
  private readonly deleteStaging: BetterSqlite3.Statement;
  private readonly keepHashes: BetterSqlite3.Statement;
  private readonly trimHashes: BetterSqlite3.Statement;
  private readonly selectChunks: BetterSqlite3.Statement;
  private readonly selectStaging: BetterSqlite3.Statement;
  private readonly commitTx: (messages: AcceptedMessage[], alsoSeal: number) => void;
  private readonly sealTx: (chunks: OpenChunk[]) => void;
  private readonly forgetTx: (patientId: string) => void;

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly decimalsOf: DecimalsOf,
    private readonly keyOf: PatientKeyLookup,
    private readonly policy: ChunkPolicy = DEFAULT_CHUNK_POLICY,
  ) {
    this.insertStaging = db.prepare(
      'INSERT OR IGNORE INTO reading_staging (device_id, seq, hash, patient_id, received_ms, min_ts, max_ts, count, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    // Never moves last_seq backwards, whatever order batches commit in.
    this.updateDevice = db.prepare(
      'UPDATE devices SET last_seq = ?, last_hash = ?, last_seen_ms = ? WHERE id = ? AND (last_seq IS NULL OR last_seq < ?)',
    );
    this.selectLast = db.prepare('SELECT last_seq, last_hash FROM devices WHERE id = ?');
    this.insertChunk = db.prepare(
      'INSERT INTO reading_chunks (id, patient_id, device_id, start_ms, end_ms, count, codes, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.deleteStaging = db.prepare(
      'DELETE FROM reading_staging WHERE device_id = ? AND patient_id = ? AND seq <= ?',
    );
    this.keepHashes = db.prepare(
      'INSERT OR IGNORE INTO redelivery_window (device_id, seq, patient_id, hash) SELECT device_id, seq, patient_id, hash FROM reading_staging WHERE device_id = ? AND patient_id = ? AND seq <= ?',
    );
    this.trimHashes = db.prepare(
      'DELETE FROM redelivery_window WHERE device_id = ? AND seq < (SELECT seq FROM redelivery_window WHERE device_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)',
    );
    this.selectChunks = db.prepare(chunksInRange('id, device_id, start_ms, end_ms, count, codes, sealed'));
    this.selectStaging = db.prepare(
      'SELECT device_id, seq, min_ts, max_ts, count, sealed FROM reading_staging WHERE patient_id = ? AND min_ts <= ? AND max_ts >= ?',
    );
    // IMMEDIATE: take the write lock at BEGIN, so a second connection (the ingest writer's
    // thread, the CLI) waits its turn in the busy handler instead of failing mid-transaction.
    this.commitTx = db.transaction((messages: AcceptedMessage[], alsoSeal: number) => {
      this.writeMessages(messages);
      // Full runs left open by earlier commits ride on this transaction's fsync.
      if (alsoSeal > 0) for (const chunk of this.takeDue(alsoSeal)) this.writeChunk(chunk);
    }).immediate;
    this.sealTx = db.transaction((chunks: OpenChunk[]) => {
      for (const chunk of chunks) this.writeChunk(chunk);
    }).immediate;
    this.forgetTx = db.transaction((patientId: string) => {
      // PatientStore.erase resets a device's last fingerprint, but this store may have committed
      // one more of the patient's messages since (a batch in flight, or an erasure from the CLI
      // that this server learns of at its next poll). Its staging or window row still names the
      // patient here, so it must run before the deletes below.
      db.prepare(
        `UPDATE devices SET last_hash = @erased WHERE last_hash != @erased AND (
           EXISTS (SELECT 1 FROM reading_staging s WHERE s.patient_id = @patient AND s.device_id = devices.id AND s.seq = devices.last_seq)
           OR EXISTS (SELECT 1 FROM redelivery_window w WHERE w.device_id = devices.id AND w.seq = devices.last_seq AND w.patient_id = @patient))`,
      ).run({ patient: patientId, erased: ERASED_FINGERPRINT });
      db.prepare('DELETE FROM reading_staging WHERE patient_id = ?').run(patientId);
      // Also done by PatientStore.erase; here too for a run this thread sealed meanwhile.
      db.prepare('DELETE FROM redelivery_window WHERE patient_id = ?').run(patientId);
    }).immediate;
  }

  /**
   * Commits a batch in one transaction (one fsync); throws and stores nothing on failure. With
   * deferSealing, `alsoSeal` full runs waiting from earlier commits are sealed in it too.
   */
  commitBatch(messages: AcceptedMessage[], alsoSeal = 0): void {
    try {
      this.commitTx(messages, alsoSeal);
    } catch (e) {
      // The in-memory open chunks may hold readings of the failed batch: rebuild them from disk.
      this.rebuildOpenChunks();
      throw e;
    }
  }

  /** Full runs left open by deferSealing, waiting for sealDue(). */
  get dueChunks(): number {
    return this.due.size;
  }

  /** Seals up to `max` full runs left open by deferSealing, in one transaction; returns how many. */
  sealDue(max: number): number {
    const batch = this.takeDue(max);
    if (batch.length === 0) return 0;
    try {
      this.sealTx(batch);
    } catch (e) {
      this.rebuildOpenChunks();
      throw e;
    }
    return batch.length;
  }

  /** Up to `max` full runs waiting to be sealed, oldest first, and still open. */
  private takeDue(max: number): OpenChunk[] {
    const batch: OpenChunk[] = [];
    for (const chunk of this.due) {
      if (batch.length >= max) break;
      this.due.delete(chunk);
      // A run sealed meanwhile (idle sealing) or forgotten (erasure) is no longer open.
      if (this.open.get(`${chunk.patientId}|${chunk.deviceId}`) === chunk) batch.push(chunk);
    }
    return batch;
  }

  private rebuildOpenChunks(): void {
    this.open.clear();
    this.due.clear();
    this.reloadOpenChunks();
  }

  private writeMessages(messages: AcceptedMessage[]): void {
    const touched = new Set<OpenChunk>();
    // One device row update per batch, not per message: a busy device sends many per commit.
    const newest = new Map<string, AcceptedMessage>();
    for (const m of messages) {
      for (const part of m.parts) {
        const readings = part.readings;
        let minTs = Number.POSITIVE_INFINITY;
        let maxTs = Number.NEGATIVE_INFINITY;
        for (const r of readings) {
          if (r.tsMs < minTs) minTs = r.tsMs;
          if (r.tsMs > maxTs) maxTs = r.tsMs;
        }
        const aad = stagingAad(m.deviceId, m.seq, part.patientId, minTs, maxTs, readings.length);
        const sealed = seal(this.keyOf(part.patientId), encodeReadings(readings, this.decimalsOf), aad);
        const inserted = this.insertStaging.run(
          m.deviceId,
          m.seq,
          m.hash,
          part.patientId,
          m.receivedMs,
          minTs,
          maxTs,
          readings.length,
          sealed,
        );
        // A redelivery already stored (lost PUBACK across a restart) is not stored twice.
        if (inserted.changes === 0) continue;
        touched.add(this.addToOpenChunk(part.patientId, m.deviceId, m.seq, readings, minTs, maxTs));
      }
      const prior = newest.get(m.deviceId);
      if (!prior || prior.seq < m.seq) newest.set(m.deviceId, m);
    }
    for (const m of newest.values()) this.updateDevice.run(m.seq, m.hash, m.receivedMs, m.deviceId, m.seq);
    for (const chunk of touched) {
      if (
        chunk.readings.length >= this.policy.maxReadings ||
        chunk.maxTs - chunk.minTs >= this.policy.maxSpanMs
      ) {
        if (this.policy.deferSealing) this.due.add(chunk);
        else this.writeChunk(chunk);
      }
    }
  }

  private addToOpenChunk(
    patientId: string,
    deviceId: string,
    seq: number,
    readings: Reading[],
    minTs: number,
    maxTs: number,
  ): OpenChunk {
    const key = `${patientId}|${deviceId}`;
    let chunk = this.open.get(key);
    if (!chunk) {
      chunk = { patientId, deviceId, readings: [], maxSeq: seq, minTs, maxTs };
      this.open.set(key, chunk);
    }
    for (const r of readings) chunk.readings.push(r);
    if (seq > chunk.maxSeq) chunk.maxSeq = seq;
    if (minTs < chunk.minTs) chunk.minTs = minTs;
    if (maxTs > chunk.maxTs) chunk.maxTs = maxTs;
    return chunk;
  }

  private writeChunk(chunk: OpenChunk): void {
    const readings = chunk.readings.slice().sort((a, b) => a.tsMs - b.tsMs);
    if (chunk.maxTs - chunk.minTs <= MAX_CHUNK_SPAN_MS) this.insertChunkRow(chunk, readings);
    else {
      // Readers look back only MAX_CHUNK_SPAN_MS for a chunk's start: cut where a piece would
      // grow wider (a run holding a backfill is rare, so this costs nothing on the usual path).
      let first = 0;
      for (let i = 1; i <= readings.length; i++) {
        if (i === readings.length || readings[i]!.tsMs - readings[first]!.tsMs > MAX_CHUNK_SPAN_MS) {
          this.insertChunkRow(chunk, readings.slice(first, i));
          first = i;
        }
      }
    }
    // The run's hashes outlive its staging rows: see REDELIVERY_WINDOW.
    this.keepHashes.run(chunk.deviceId, chunk.patientId, chunk.maxSeq);
    this.trimHashes.run(chunk.deviceId, chunk.deviceId, REDELIVERY_WINDOW - 1);
    this.deleteStaging.run(chunk.deviceId, chunk.patientId, chunk.maxSeq);
    this.open.delete(`${chunk.patientId}|${chunk.deviceId}`);
  }

  /** One chunk row of a run's readings, sorted by time. */
  private insertChunkRow(chunk: OpenChunk, readings: Reading[]): void {
    if (readings.length === 0) return;
    const startMs = readings[0]!.tsMs;
    const endMs = readings[readings.length - 1]!.tsMs;
    const id = randomUUID();
    const codes = [...new Set(readings.map((r) => r.code))].sort().join(',');
    const aad = chunkAad(id, chunk.patientId, chunk.deviceId, startMs, endMs, readings.length);
    const sealed = seal(this.keyOf(chunk.patientId), encodeReadings(readings, this.decimalsOf), aad);
    this.insertChunk.run(id, chunk.patientId, chunk.deviceId, startMs, endMs, readings.length, codes, sealed);
  }

  /**
   * After a patient's key is destroyed: their unsealed readings in memory are dropped and their
   * staging rows deleted (ciphertext no key opens any more); sealed chunks stay as they are.
   */
  forgetPatient(patientId: string): void {
    for (const [key, chunk] of this.open) {
      if (chunk.patientId === patientId) {
        chunk.readings.length = 0;
        this.open.delete(key);
      }
    }
    this.forgetTx(patientId);
  }

  lastStored(deviceId: string): { seq: number; hash: string } | undefined {
    const row = this.selectLast.get(deviceId) as
      | { last_seq: number | null; last_hash: string | null }
      | undefined;
    return row && row.last_seq !== null && row.last_hash !== null
      ? { seq: row.last_seq, hash: row.last_hash }
      : undefined;
  }

  /** Seals every open run into a chunk (at shutdown, or for runs idle longer than idleMs). */
  sealOpenChunks(idleBeforeMs = Number.POSITIVE_INFINITY): number {
    const idle = [...this.open.values()].filter((c) => c.maxTs < idleBeforeMs);
    if (idle.length > 0) this.sealTx(idle);
    return idle.length;
  }

  /** Rebuilds the open runs from staging rows after a restart (a crash leaves them there). */
  reloadOpenChunks(): void {
    const rows = this.db
      .prepare(
        'SELECT device_id, seq, patient_id, min_ts, max_ts, count, sealed FROM reading_staging ORDER BY seq',
      )
      .all() as Array<{
      device_id: string;
      seq: number;
      patient_id: string;
      min_ts: number;
      max_ts: number;
      count: number;
      sealed: Buffer;
    }>;
    for (const row of rows) {
      const aad = stagingAad(row.device_id, row.seq, row.patient_id, row.min_ts, row.max_ts, row.count);
      const readings = decodeReadings(open(this.keyOf(row.patient_id), row.sealed, aad));
      this.addToOpenChunk(row.patient_id, row.device_id, row.seq, readings, row.min_ts, row.max_ts);
    }
  }

  /**
   * The redelivery window after a restart, oldest first: messages not yet sealed into chunks
   * and each device's newest sealed ones.
   */
  recentMessages(): Array<{ deviceId: string; seq: number; hash: string }> {
    const rows = this.db
      .prepare(
        'SELECT device_id, seq, hash FROM redelivery_window UNION SELECT device_id, seq, hash FROM reading_staging ORDER BY seq',
      )
      .all() as Array<{
      device_id: string;
      seq: number;
      hash: string;
    }>;
    return rows.map((r) => ({ deviceId: r.device_id, seq: r.seq, hash: r.hash }));
  }

  /** Patients with staging rows, so their keys can be loaded before reloadOpenChunks. */
  stagedPatients(): string[] {
    return (
      this.db.prepare('SELECT DISTINCT patient_id FROM reading_staging').all() as Array<{
        patient_id: string;
      }>
    ).map((r) => r.patient_id);
  }

  /** Readings of one patient in [fromMs, toMs], oldest first. */
  query(patientId: string, q: RangeQuery): StoredReading[] {
    const key = this.keyOf(patientId);
    const out: StoredReading[] = [];
    const keep = (r: Reading, deviceId: string) => {
      if (r.tsMs >= q.fromMs && r.tsMs <= q.toMs && (!q.codes || q.codes.has(r.code)))
        out.push({ ...r, deviceId });
    };
    const chunks = this.selectChunks.all({ patient: patientId, from: q.fromMs, to: q.toMs }) as Array<{
      id: string;
      device_id: string;
      start_ms: number;
      end_ms: number;
      count: number;
      codes: string;
      sealed: Buffer;
    }>;
    for (const c of chunks) {
      if (q.codes && !c.codes.split(',').some((code) => q.codes!.has(code))) continue;
      const aad = chunkAad(c.id, patientId, c.device_id, c.start_ms, c.end_ms, c.count);
      for (const r of decodeReadings(open(key, c.sealed, aad))) keep(r, c.device_id);
    }
    const staged = this.selectStaging.all(patientId, q.toMs, q.fromMs) as Array<{
      device_id: string;
      seq: number;
      min_ts: number;
      max_ts: number;
      count: number;
      sealed: Buffer;
    }>;
    for (const s of staged) {
      const aad = stagingAad(s.device_id, s.seq, patientId, s.min_ts, s.max_ts, s.count);
      for (const r of decodeReadings(open(key, s.sealed, aad))) keep(r, s.device_id);
    }
    out.sort((a, b) => a.tsMs - b.tsMs || a.code.localeCompare(b.code));
    return out;
  }
}
