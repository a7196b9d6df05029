import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { openScratchSchema } from '../../test/support/pg-scratch-schema.ts';
import { openStore, sqlitePath } from './database.ts';
import { migrateTo, migrateToLatest } from './migrate.ts';

describe('SQLite migrations', () => {
  let dir: string;
  let raw: BetterSqlite3.Database;
  let db: Kysely<unknown>;
  const tables = () =>
    (raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map(
      (r) => r.name,
    );
  const recorded = () =>
    (raw.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as Array<{ name: string }>).map(
      (r) => r.name,
    );

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-migrate-'));
    raw = new BetterSqlite3(sqlitePath(dir));
    raw.pragma('journal_mode = WAL');
    db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: raw }) });
    // A database as the release before 0011 left it.
    await migrateTo(db, 'sqlite', '0010-staging-clustered');
  });
  afterEach(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves nothing of a migration that fails part way, so the next start runs it whole', async () => {
    raw
      .prepare(
        "INSERT INTO reading_staging (device_id, seq, hash, patient_id, received_ms, min_ts, max_ts, count, sealed) VALUES ('d-1', 1, 'h', 'p-1', 0, 0, 0, 1, x'00')",
      )
      .run();
    // 0011 creates its table, then fails on its next statement (as a full disk would).
    raw.exec(
      "CREATE TRIGGER fail_0011 BEFORE UPDATE ON reading_staging BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    );
    await assert.rejects(migrateToLatest(db, 'sqlite'), /disk full/);
    assert.ok(!tables().includes('redelivery_window'), 'the table 0011 made is rolled back');
    assert.ok(!recorded().includes('0011-redelivery-window'));

    raw.exec('DROP TRIGGER fail_0011');
    await migrateToLatest(db, 'sqlite');
    assert.ok(recorded().includes('0011-redelivery-window'));
    assert.equal(raw.prepare('SELECT hash FROM reading_staging').pluck().get(), 'plain-hash-removed');
  });

  it('opens a store an earlier release left with 0011 half applied', async () => {
    // Earlier releases ran 0011 outside a transaction: its table could exist unrecorded.
    await sql`CREATE TABLE redelivery_window (device_id text not null, seq bigint not null, patient_id text not null, hash text not null, constraint redelivery_window_pk primary key (device_id, seq, patient_id)) without rowid`.execute(
      db,
    );
    await db.destroy();
    const store = await openStore({ dataDir: dir });
    try {
      const names = await store.db
        .selectFrom('kysely_migration' as never)
        .select('name' as never)
        .execute();
      assert.ok(names.some((r) => (r as { name: string }).name === '0011-redelivery-window'));
    } finally {
      await store.close();
    }
    raw = new BetterSqlite3(sqlitePath(dir));
    db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: raw }) });
  });
});

describe('PostgreSQL migrations', () => {
  it("look only at their own schema's tables, so another schema dropped meanwhile cannot fail them", async () => {
    const queries: string[] = [];
    const scratch = await openScratchSchema('vigil_migrate_scope', {
      log: (event) => {
        if (event.level === 'query') queries.push(event.query.sql);
      },
    });
    try {
      const applied = await migrateToLatest(scratch.kysely, 'postgres', scratch.schema);
      assert.ok(applied.includes('0001-initial') && applied.includes('0018-device-events'), applied.join());
      // Kysely's own introspection reads every schema's columns and calls functions that look
      // each schema up by name: a schema dropped between the two fails the statement.
      const everySchema = queries.filter((q) => /pg_get_serial_sequence|has_schema_privilege/.test(q));
      assert.deepEqual(everySchema, []);
    } finally {
      await scratch.drop();
    }
  });
});
