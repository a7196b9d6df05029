import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { migrateTo, migrateToLatest } from '../migrate.ts';

describe('migration 0011: redelivery window, and no plain payload hashes left at rest', () => {
  let dir: string;
  let db: BetterSqlite3.Database;
  let kysely: Kysely<unknown>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-0011-'));
    db = new BetterSqlite3(join(dir, 'vigil.db'));
    kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) });
    await migrateTo(kysely, 'sqlite', '0010-staging-clustered');
    // As an earlier release left it: SHA-256 hashes of payloads beside a device's last seq.
    db.prepare(
      "INSERT INTO devices (id, model, serial, status, created_at, last_seq, last_hash) VALUES ('d-1', 'm', 's', 'active', 0, 7, 'sha256-of-payload-7')",
    ).run();
    db.prepare(
      "INSERT INTO devices (id, model, serial, status, created_at) VALUES ('d-2', 'm', 's', 'active', 0)",
    ).run();
    db.prepare(
      "INSERT INTO reading_staging (device_id, seq, hash, patient_id, received_ms, min_ts, max_ts, count, sealed) VALUES ('d-1', 7, 'sha256-of-payload-7', 'p-1', 0, 0, 0, 1, x'00')",
    ).run();
    await migrateToLatest(kysely, 'sqlite');
  });
  after(async () => {
    await kysely.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('overwrites the plain hashes and keeps every seq', () => {
    assert.deepEqual(db.prepare('SELECT id, last_seq, last_hash FROM devices ORDER BY id').all(), [
      { id: 'd-1', last_seq: 7, last_hash: 'plain-hash-removed' },
      { id: 'd-2', last_seq: null, last_hash: null },
    ]);
    assert.deepEqual(db.prepare('SELECT device_id, seq, hash FROM reading_staging').all(), [
      { device_id: 'd-1', seq: 7, hash: 'plain-hash-removed' },
    ]);
  });

  it('keys the window by device and seq, clustered', () => {
    const plan = db
      .prepare("EXPLAIN QUERY PLAN DELETE FROM redelivery_window WHERE device_id = 'd' AND seq < 3")
      .all() as Array<{ detail: string }>;
    assert.match(plan.map((r) => r.detail).join(' | '), /USING PRIMARY KEY \(device_id=\? AND seq<\?\)/);
  });
});
