import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type pg from 'pg';
import { openScratchSchema } from '../../../test/support/pg-scratch-schema.ts';
import { migrateTo, migrateToLatest } from '../migrate.ts';

const BEFORE = '0016-patient-id-code-unit';
const CURSOR = "SELECT name, last_id FROM outbox_cursors WHERE name = 'device-events'";

/** A device quarantined by an earlier release: its step has no event, and none is made up. */
async function quarantinedDevice(db: Kysely<unknown>, id: string): Promise<void> {
  await sql`INSERT INTO devices (id, model, serial, status, created_at, quarantined_at, quarantine_reason)
    VALUES (${id}, 'TestOx', ${`SN-${id}`}, 'quarantined', 1, 2, 'tampering')`.execute(db);
}

async function recordStep(db: Kysely<unknown>, deviceId: string, type: string): Promise<void> {
  await sql`INSERT INTO device_events (device_id, type, actor, reason, at)
    VALUES (${deviceId}, ${type}, 'user:security', NULL, 1764842400000)`.execute(db);
}

describe('migration 0018: device events (SQLite)', () => {
  let dir: string;
  let kysely: Kysely<unknown>;
  let db: BetterSqlite3.Database;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-0018-'));
    db = new BetterSqlite3(join(dir, 'upgraded.db'));
    db.pragma('foreign_keys = ON');
    kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) });
    await migrateTo(kysely, 'sqlite', BEFORE);
    await quarantinedDevice(kysely, 'ox-1');
    await migrateToLatest(kysely, 'sqlite');
  });
  after(async () => {
    await kysely.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts the relay cursor at 0 and writes no event for a quarantine from before', () => {
    assert.deepEqual(db.prepare(CURSOR).all(), [{ name: 'device-events', last_id: 0 }]);
    assert.deepEqual(db.prepare('SELECT * FROM device_events').all(), []);
  });

  it('numbers events in the order they are written, from 1', async () => {
    await recordStep(kysely, 'ox-1', 'released');
    await recordStep(kysely, 'ox-1', 'quarantined');
    assert.deepEqual(db.prepare('SELECT id, type FROM device_events ORDER BY id').all(), [
      { id: 1, type: 'released' },
      { id: 2, type: 'quarantined' },
    ]);
  });

  it('refuses an event for a device that is not registered', async () => {
    await assert.rejects(recordStep(kysely, 'no-such-device', 'quarantined'), /FOREIGN KEY/);
  });
});

describe('migration 0018 on PostgreSQL', () => {
  let schema: string;
  let pool: pg.Pool;
  let kysely: Kysely<unknown>;
  let drop: () => Promise<void>;

  before(async () => {
    ({ schema, pool, kysely, drop } = await openScratchSchema('vigil_0018'));
    await migrateTo(kysely, 'postgres', BEFORE, schema);
    await quarantinedDevice(kysely, 'ox-1');
    await migrateToLatest(kysely, 'postgres', schema);
  });
  after(() => drop());

  it('starts the relay cursor at 0, with times as BIGINT', async () => {
    const { rows } = await pool.query(CURSOR.replace('last_id', 'last_id::text AS last_id'));
    assert.deepEqual(rows, [{ name: 'device-events', last_id: '0' }]);
    const types = await pool.query(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'device_events' ORDER BY column_name",
      [schema],
    );
    assert.deepEqual(
      Object.fromEntries(
        types.rows.map((r: { column_name: string; data_type: string }) => [r.column_name, r.data_type]),
      ),
      { actor: 'text', at: 'bigint', device_id: 'text', id: 'integer', reason: 'text', type: 'text' },
    );
  });

  it('numbers events in the order they are written, and refuses one for an unknown device', async () => {
    await recordStep(kysely, 'ox-1', 'released');
    await recordStep(kysely, 'ox-1', 'quarantined');
    const { rows } = await pool.query('SELECT id, type FROM device_events ORDER BY id');
    assert.deepEqual(rows, [
      { id: 1, type: 'released' },
      { id: 2, type: 'quarantined' },
    ]);
    await assert.rejects(recordStep(kysely, 'no-such-device', 'quarantined'), /foreign key/);
  });
});
