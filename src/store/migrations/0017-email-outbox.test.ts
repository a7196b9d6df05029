import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type pg from 'pg';
import { alertWithHistory } from '../../../test/support/alert-history.ts';
import { openScratchSchema } from '../../../test/support/pg-scratch-schema.ts';
import { migrateTo, migrateToLatest } from '../migrate.ts';

const BEFORE = '0016-patient-id-code-unit';
const CURSOR = "SELECT name, last_id FROM outbox_cursors WHERE name = 'email-alert-events'";

/** Queues a notice as the relay does, with SQL of its own: the migration's contract, not the store's. */
const queue = (db: Kysely<unknown>, id: string, eventId: number, kind: string) =>
  sql`INSERT INTO email_deliveries (id, alert_id, event_id, kind, member, state, attempts,
      next_attempt_ms, created_ms, updated_ms)
    VALUES (${id}, 'a-1', ${eventId}, ${kind}, 'nurse-a', 'pending', 0, 1, 1, 1)`.execute(db);

describe('migration 0017: the alert e-mail queue (SQLite)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-0017-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('starts the e-mail cursor at the newest alert event, so an upgrade mails no history', async () => {
    const db = new BetterSqlite3(join(dir, 'upgraded.db'));
    const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) });
    await migrateTo(kysely, 'sqlite', BEFORE);
    await alertWithHistory(kysely, 'a-1', 3);
    await migrateToLatest(kysely, 'sqlite');
    assert.deepEqual(db.prepare(CURSOR).all(), [{ name: 'email-alert-events', last_id: 3 }]);
    await kysely.destroy();
  });

  it('holds one notice per alert event and kind', async () => {
    const db = new BetterSqlite3(join(dir, 'fresh.db'));
    const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) });
    await migrateToLatest(kysely, 'sqlite');
    assert.deepEqual(db.prepare(CURSOR).all(), [{ name: 'email-alert-events', last_id: 0 }]);
    await queue(kysely, 'em-1', 7, 'raise');
    await assert.rejects(queue(kysely, 'em-2', 7, 'raise'), /UNIQUE/);
    await queue(kysely, 'em-3', 8, 'raise');
    await kysely.destroy();
  });
});

describe('migration 0017 on PostgreSQL', () => {
  let schema: string;
  let pool: pg.Pool;
  let kysely: Kysely<unknown>;
  let drop: () => Promise<void>;

  before(async () => {
    ({ schema, pool, kysely, drop } = await openScratchSchema('vigil_0017'));
  });
  after(() => drop());

  it('starts the cursor at the newest alert event and holds one notice per event and kind, ids as BIGINT', async () => {
    await migrateTo(kysely, 'postgres', BEFORE, schema);
    await alertWithHistory(kysely, 'a-1', 2);
    await migrateToLatest(kysely, 'postgres', schema);
    const { rows } = await pool.query(CURSOR.replace('last_id', 'last_id::text AS last_id'));
    assert.deepEqual(rows, [{ name: 'email-alert-events', last_id: '2' }]);
    await queue(kysely, 'em-1', 2, 'raise');
    await assert.rejects(queue(kysely, 'em-2', 2, 'raise'), /email_deliveries_event_kind/);
    const types = await pool.query(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'email_deliveries' AND column_name IN ('event_id', 'next_attempt_ms') ORDER BY column_name",
      [schema],
    );
    assert.deepEqual(
      types.rows.map((r) => r.data_type),
      ['bigint', 'bigint'],
    );
  });
});
