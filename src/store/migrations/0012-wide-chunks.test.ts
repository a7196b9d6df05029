import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type pg from 'pg';
import { openScratchSchema } from '../../../test/support/pg-scratch-schema.ts';
import { chunksInRange, MAX_CHUNK_SPAN_MS } from '../../clinical/observations.store.ts';
import { migrateTo, migrateToLatest } from '../migrate.ts';

const BEFORE = '0011-redelivery-window';
const DAY = 86_400_000;
const T0 = Date.parse('2026-11-27T08:00:00Z');

/** Chunk rows as releases before 0012 left them: most an hour wide, one a backfill 2 days wide. */
const CHUNKS = [
  { id: 'c-hour', start_ms: T0, end_ms: T0 + 3_600_000 },
  { id: 'c-day', start_ms: T0 - DAY, end_ms: T0 },
  { id: 'c-backfill', start_ms: T0 - 2 * DAY, end_ms: T0 + 3_600_000 },
];

describe('migration 0012: an index of the chunks wider than readers look back (SQLite)', () => {
  let dir: string;
  let db: BetterSqlite3.Database;
  let kysely: Kysely<unknown>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-0012-'));
    db = new BetterSqlite3(join(dir, 'vigil.db'));
    kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) });
    await migrateTo(kysely, 'sqlite', BEFORE);
    const insert = db.prepare(
      "INSERT INTO reading_chunks (id, patient_id, device_id, start_ms, end_ms, count, codes, sealed) VALUES (?, 'p-1', 'd-1', ?, ?, 1, '8867-4', x'00')",
    );
    for (const c of CHUNKS) insert.run(c.id, c.start_ms, c.end_ms);
    await migrateToLatest(kysely, 'sqlite');
  });
  after(async () => {
    await kysely.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds only the chunks wider than MAX_CHUNK_SPAN_MS', () => {
    const rows = db
      .prepare(
        `SELECT id FROM reading_chunks INDEXED BY reading_chunks_wide WHERE patient_id = 'p-1' AND end_ms - start_ms > ${MAX_CHUNK_SPAN_MS}`,
      )
      .all();
    assert.deepEqual(rows, [{ id: 'c-backfill' }]);
  });

  it('lets readers find every chunk overlapping a range after the backfill began', () => {
    const ids = (fromMs: number, toMs: number) =>
      (
        db.prepare(chunksInRange('id')).all({ patient: 'p-1', from: fromMs, to: toMs }) as Array<{
          id: string;
        }>
      )
        .map((r) => r.id)
        .sort();
    assert.deepEqual(ids(T0 + 1_800_000, T0 + 1_800_000), ['c-backfill', 'c-hour']);
    assert.deepEqual(ids(T0 - 1000, T0), ['c-backfill', 'c-day', 'c-hour']);
    assert.deepEqual(ids(T0 - 2 * DAY, T0 - 2 * DAY), ['c-backfill']);
  });
});

describe('migration 0012 on PostgreSQL', () => {
  let schema: string;
  let pool: pg.Pool;
  let kysely: Kysely<unknown>;
  let drop: () => Promise<void>;

  before(async () => {
    ({ schema, pool, kysely, drop } = await openScratchSchema('vigil_0012'));
  });
  after(() => drop());

  it('adds the partial index and keeps the rows', async () => {
    await migrateTo(kysely, 'postgres', BEFORE, schema);
    for (const c of CHUNKS)
      await sql`INSERT INTO reading_chunks (id, patient_id, device_id, start_ms, end_ms, count, codes, sealed)
        VALUES (${c.id}, 'p-1', 'd-1', ${c.start_ms}, ${c.end_ms}, 1, '8867-4', '\\x00')`.execute(kysely);
    await migrateToLatest(kysely, 'postgres', schema);
    const { rows } = await pool.query(
      "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'reading_chunks_wide'",
      [schema],
    );
    assert.equal(rows.length, 1);
    assert.match(rows[0].indexdef, /\(patient_id, end_ms\) WHERE \(\(end_ms - start_ms\) > 86400000\)/);
    assert.equal((await pool.query('SELECT count(*)::int n FROM reading_chunks')).rows[0].n, CHUNKS.length);
  });
});
