import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type pg from 'pg';
import { openScratchSchema } from '../../../test/support/pg-scratch-schema.ts';
import { type AcceptedMessage, SqliteObservationStore } from '../../clinical/observations.store.ts';
import { migrateTo, migrateToLatest } from '../migrate.ts';

const BEFORE = '0009-questionable-readings';
const T0 = Date.parse('2026-11-27T08:00:00Z');
const RANGE = { fromMs: T0, toMs: T0 + 3_600_000 };

function message(
  deviceId: string,
  seq: number,
  parts: Array<[patientId: string, n: number]>,
): AcceptedMessage {
  return {
    deviceId,
    seq,
    hash: `h-${deviceId}-${seq}`,
    receivedMs: T0 + seq * 1000,
    parts: parts.map(([patientId, n], p) => ({
      patientId,
      readings: Array.from({ length: n }, (_, i) => ({
        code: i % 2 ? '59408-5' : '8867-4',
        value: 60 + ((seq + i) % 30),
        tsMs: T0 + seq * 1000 + p * 100 + i,
      })),
    })),
  };
}

type Recent = { deviceId: string; seq: number; hash: string };
const bySeq = (rows: Recent[]) =>
  rows.slice().sort((a, b) => a.seq - b.seq || a.deviceId.localeCompare(b.deviceId));

describe('migration 0010: reading_staging clustered by patient, device, seq (SQLite)', () => {
  let dir: string;
  let db: BetterSqlite3.Database;
  let kysely: Kysely<unknown>;
  const keys = new Map(['pat-1', 'pat-2', 'pat-3'].map((p) => [p, randomBytes(32)]));
  const keyOf = (patientId: string) => keys.get(patientId)!;
  const newStore = () =>
    new SqliteObservationStore(db, () => 0, keyOf, {
      maxReadings: 8,
      maxSpanMs: 3_600_000,
      deferSealing: true,
    });
  let readBefore: Record<string, unknown>;
  let recentBefore: unknown;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-0010-'));
    db = new BetterSqlite3(join(dir, 'vigil.db'));
    db.pragma('journal_mode = WAL');
    kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) });
    await migrateTo(kysely, 'sqlite', BEFORE);
    // Today's store also keeps sealed messages' hashes (0011). It writes the pre-0010 state here,
    // so it gets that table for the while, dropped before migrating: a 0009 database had none.
    db.exec(
      'CREATE TABLE redelivery_window (device_id TEXT, seq INTEGER, patient_id TEXT, hash TEXT, PRIMARY KEY (device_id, seq, patient_id))',
    );
    for (const id of ['dev-1', 'dev-2'])
      db.prepare(
        "INSERT INTO devices (id, model, serial, status, created_at) VALUES (?, 'm', 's', 'active', 0)",
      ).run(id);
    // As a release before 0010 left it: open runs in staging, a sealed chunk, a message split
    // between two patients (reassigned mid-message), and a full run still waiting to be sealed.
    const old = newStore();
    old.commitBatch([message('dev-1', 1, [['pat-1', 3]]), message('dev-2', 1, [['pat-2', 2]])]);
    old.commitBatch([message('dev-1', 2, [['pat-1', 3]]), message('dev-1', 3, [['pat-1', 2]])]);
    old.sealDue(10);
    old.commitBatch([
      message('dev-1', 4, [['pat-1', 2]]),
      message('dev-2', 2, [
        ['pat-2', 1],
        ['pat-3', 2],
      ]),
    ]);
    old.commitBatch([message('dev-2', 3, [['pat-3', 4]]), message('dev-2', 4, [['pat-3', 4]])]);
    readBefore = Object.fromEntries([...keys.keys()].map((p) => [p, old.query(p, RANGE)]));
    recentBefore = bySeq(
      db.prepare('SELECT DISTINCT device_id deviceId, seq, hash FROM reading_staging').all() as Recent[],
    );
    db.exec('DROP TABLE redelivery_window');
    await migrateToLatest(kysely, 'sqlite');
  });
  after(async () => {
    await kysely.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every staging row readable, and the same readings per patient', () => {
    const staged = db.prepare('SELECT count(*) n FROM reading_staging').get() as { n: number };
    assert.equal(staged.n, 6);
    const store = newStore();
    store.reloadOpenChunks();
    for (const p of keys.keys()) assert.deepEqual(store.query(p, RANGE), readBefore[p], p);
    assert.equal((readBefore['pat-1'] as unknown[]).length, 10);
    // Same messages; their plain hashes are replaced by 0011 (see its own test).
    const keyed = (rows: Recent[]) => bySeq(rows).map(({ deviceId, seq }) => ({ deviceId, seq }));
    assert.deepEqual(keyed(store.recentMessages()), keyed(recentBefore as Recent[]));
  });

  it('still stores a redelivered message once', () => {
    const store = newStore();
    store.reloadOpenChunks();
    store.commitBatch([message('dev-2', 3, [['pat-3', 4]])]);
    assert.deepEqual(store.query('pat-3', RANGE), readBefore['pat-3']);
  });

  it('seals a run and queries a patient through the primary key, not a scan', () => {
    const plan = (query: string, ...args: unknown[]) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${query}`).all(...args) as Array<{ detail: string }>)
        .map((r) => r.detail)
        .join(' | ');
    assert.equal(
      plan('DELETE FROM reading_staging WHERE device_id = ? AND patient_id = ? AND seq <= ?', 'd', 'p', 1),
      'SEARCH reading_staging USING PRIMARY KEY (patient_id=? AND device_id=? AND seq<?)',
    );
    assert.equal(
      plan(
        'SELECT device_id, seq, min_ts, max_ts, count, sealed FROM reading_staging WHERE patient_id = ? AND min_ts <= ? AND max_ts >= ?',
        'p',
        1,
        1,
      ),
      'SEARCH reading_staging USING PRIMARY KEY (patient_id=?)',
    );
    const indexes = db.prepare(
      "SELECT name FROM sqlite_master WHERE tbl_name = 'reading_staging' AND type = 'index'",
    );
    assert.deepEqual(indexes.all(), []);
  });

  it('seals the staged runs into chunks after the migration', () => {
    const store = newStore();
    store.reloadOpenChunks();
    assert.ok(store.sealOpenChunks() > 0);
    assert.equal((db.prepare('SELECT count(*) n FROM reading_staging').get() as { n: number }).n, 0);
    for (const p of keys.keys()) assert.deepEqual(store.query(p, RANGE), readBefore[p], p);
  });
});

describe('migration 0010 on PostgreSQL', () => {
  let schema: string;
  let pool: pg.Pool;
  let kysely: Kysely<unknown>;
  let drop: () => Promise<void>;

  before(async () => {
    ({ schema, pool, kysely, drop } = await openScratchSchema('vigil_0010'));
  });
  after(() => drop());

  it('keeps the rows and keys them by patient, device, seq without the patient index', async () => {
    await migrateTo(kysely, 'postgres', BEFORE, schema);
    await sql`INSERT INTO reading_staging (device_id, seq, hash, patient_id, received_ms, min_ts, max_ts, count, sealed)
      VALUES ('dev-1', 1, 'h', 'pat-1', 0, 0, 0, 1, '\\x00')`.execute(kysely);
    await migrateToLatest(kysely, 'postgres', schema);
    const { rows } = await pool.query(
      "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'reading_staging'",
      [schema],
    );
    assert.deepEqual(
      rows.map((r: { indexdef: string }) => r.indexdef.replace(/ON \S+ /, 'ON ')),
      ['CREATE UNIQUE INDEX reading_staging_pk ON USING btree (patient_id, device_id, seq)'],
    );
    assert.equal((await pool.query('SELECT count(*)::int n FROM reading_staging')).rows[0].n, 1);
  });
});
