import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { migrateTo, migrateToLatest } from '../migrate.ts';

const BEFORE = '0018-device-events';

type KeyRow = { id: string; wrapped: Buffer; destroyed_at: number | null };

/** Whether any 16 bytes in a row of `secret` are in `bytes`: an overwrite may leave only part of it. */
function holdsPieceOf(bytes: Buffer, secret: Buffer): boolean {
  for (let at = 0; at + 16 <= secret.length; at++) {
    if (bytes.includes(secret.subarray(at, at + 16))) return true;
  }
  return false;
}

describe('migration 0019: free space of a store written without secure_delete is zeroed', () => {
  let dir: string;
  let file: string;
  let db: BetterSqlite3.Database;
  let kysely: Kysely<unknown>;
  const erasedKey = randomBytes(60);
  const deletedReading = randomBytes(3000);
  let keysBefore: KeyRow[];

  const onDisk = () => {
    db.pragma('wal_checkpoint(TRUNCATE)');
    return readFileSync(file);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-0019-'));
    file = join(dir, 'upgraded.db');
    db = new BetterSqlite3(file);
    db.pragma('journal_mode = WAL');
    // As every connection was before secure_delete was set on each.
    db.pragma('secure_delete = OFF');
    kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) });
    await migrateTo(kysely, 'sqlite', BEFORE);
    const insertKey = db.prepare(
      `INSERT INTO data_keys (id, purpose, owner_id, master_key_id, wrapped, created_at) VALUES (?, 'patient', ?, 'mk-1', ?, 1)`,
    );
    for (let i = 0; i < 200; i++) insertKey.run(`dk-${i}`, `p-${i}`, i === 57 ? erasedKey : randomBytes(60));
    // Erasure as key-ring.ts does it: the wrapped key overwritten in place.
    db.prepare(
      `UPDATE data_keys SET wrapped = x'', destroyed_at = 2, master_key_id = 'destroyed' WHERE id = 'dk-57'`,
    ).run();
    db.exec('CREATE TABLE erased_readings (sealed BLOB)');
    const insertReading = db.prepare('INSERT INTO erased_readings VALUES (?)');
    for (let i = 0; i < 50; i++) insertReading.run(deletedReading);
    db.exec('DROP TABLE erased_readings');
    keysBefore = db.prepare('SELECT * FROM data_keys ORDER BY id').all() as KeyRow[];
  });
  after(async () => {
    await kysely.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds the erased bytes in the file before the migration (the case this step is for)', () => {
    const bytes = onDisk();
    assert.ok(holdsPieceOf(bytes, erasedKey), 'the overwritten wrapped key is still in the file');
    assert.ok(bytes.includes(deletedReading), 'the dropped rows are still in free pages');
    assert.ok((db.pragma('freelist_count', { simple: true }) as number) > 0);
  });

  it('leaves neither the erased key nor the deleted rows in the file, and every key as it was', async () => {
    await migrateToLatest(kysely, 'sqlite');
    db.pragma('secure_delete = OFF');
    const bytes = onDisk();
    assert.equal(holdsPieceOf(bytes, erasedKey), false, 'the overwritten wrapped key is gone');
    assert.equal(holdsPieceOf(bytes, deletedReading), false, 'the free pages are zeroed');
    assert.deepEqual(db.prepare('SELECT * FROM data_keys ORDER BY id').all(), keysBefore);
    assert.deepEqual(
      db.prepare("SELECT name FROM sqlite_master WHERE name LIKE '%scrub%' OR name LIKE '%kept%'").all(),
      [],
    );
  });

  it('keeps data_keys as it was defined: one key per purpose and owner', async () => {
    await assert.rejects(
      sql`INSERT INTO data_keys (id, purpose, owner_id, master_key_id, wrapped, created_at)
        VALUES ('dk-dup', 'patient', 'p-1', 'mk-1', x'00', 3)`.execute(kysely),
      /UNIQUE constraint failed: data_keys\.purpose, data_keys\.owner_id/,
    );
  });
});
