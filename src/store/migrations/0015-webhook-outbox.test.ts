import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type pg from 'pg';
import { alertWithHistory } from '../../../test/support/alert-history.ts';
import { openScratchSchema } from '../../../test/support/pg-scratch-schema.ts';
import { migrateTo, migrateToLatest } from '../migrate.ts';

const BEFORE = '0014-care-team-member-index';
const CURSOR = "SELECT name, last_id FROM outbox_cursors WHERE name = 'webhook-alert-events'";

describe('migration 0015: the webhook outbox cursor (SQLite)', () => {
  let dir: string;
  let kysely: Kysely<unknown>;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-0015-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const open = (name: string) => {
    const db = new BetterSqlite3(join(dir, name));
    kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) });
    return db;
  };

  it('starts the cursor at the newest alert event, so an upgrade replays no history', async () => {
    const db = open('upgraded.db');
    await migrateTo(kysely, 'sqlite', BEFORE);
    await alertWithHistory(kysely, 'a-1', 3);
    await migrateToLatest(kysely, 'sqlite');
    assert.deepEqual(db.prepare(CURSOR).all(), [{ name: 'webhook-alert-events', last_id: 3 }]);
    await kysely.destroy();
  });

  it('starts the cursor at 0 on a database without alert events', async () => {
    const db = open('fresh.db');
    await migrateToLatest(kysely, 'sqlite');
    assert.deepEqual(db.prepare(CURSOR).all(), [{ name: 'webhook-alert-events', last_id: 0 }]);
    await kysely.destroy();
  });
});

describe('migration 0015 on PostgreSQL', () => {
  let schema: string;
  let pool: pg.Pool;
  let kysely: Kysely<unknown>;
  let drop: () => Promise<void>;

  before(async () => {
    ({ schema, pool, kysely, drop } = await openScratchSchema('vigil_0015'));
  });
  after(() => drop());

  it('starts the cursor at the newest alert event, as a BIGINT', async () => {
    await migrateTo(kysely, 'postgres', BEFORE, schema);
    await alertWithHistory(kysely, 'a-1', 2);
    await migrateToLatest(kysely, 'postgres', schema);
    const { rows } = await pool.query(`${CURSOR.replace('last_id', 'last_id::text AS last_id')}`);
    assert.deepEqual(rows, [{ name: 'webhook-alert-events', last_id: '2' }]);
    const type = await pool.query(
      "SELECT data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'outbox_cursors' AND column_name = 'last_id'",
      [schema],
    );
    assert.equal(type.rows[0]?.data_type, 'bigint');
  });
});
