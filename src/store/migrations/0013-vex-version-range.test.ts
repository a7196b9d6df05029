import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { migrateTo, migrateToLatest } from '../migrate.ts';

const BEFORE = '0012-wide-chunks';

describe('migration 0013: vendor VEX statements keep their version range (SQLite)', () => {
  let dir: string;
  let db: BetterSqlite3.Database;
  let kysely: Kysely<unknown>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-0013-'));
    db = new BetterSqlite3(join(dir, 'vigil.db'));
    kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) });
    await migrateTo(kysely, 'sqlite', BEFORE);
    const vex = db.prepare(
      "INSERT INTO posture_vex (id, vulnerability, status, model, firmware, component_key, justification, source) VALUES (?, 'CVE-2026-30003', 'fixed', ?, ?, 'device:acme medical:infupro 300', 'fixed', ?)",
    );
    // As earlier releases wrote a "fixed: vers:generic/>=2.4.1" product: no firmware at all.
    vex.run('range-as-every-version', null, null, 'csaf:ACME-2');
    vex.run('csaf-one-version', null, '2.4.1', 'csaf:ACME-2');
    vex.run('sbom', 'InfuPro 300', '2.3.0', 'sbom:InfuPro 300@2.3.0');
    const file = db.prepare(
      'INSERT INTO posture_import_files (content_hash, path, kind, next_index, total, completed_at, updated_at) VALUES (?, ?, ?, 1, 1, 1, 1)',
    );
    file.run('h-csaf', 'acme-2.json', 'csaf');
    file.run('h-osv', 'osv.json', 'osv');
    await migrateToLatest(kysely, 'sqlite');
  });
  after(async () => {
    await kysely.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('removes CSAF statements that may be a range read as every version', () => {
    const ids = db.prepare('SELECT id, vers FROM posture_vex ORDER BY id').all();
    assert.deepEqual(ids, [
      { id: 'csaf-one-version', vers: null },
      { id: 'sbom', vers: null },
    ]);
  });

  it('forgets the CSAF files it imported, so the next import writes them again', () => {
    const files = db.prepare('SELECT content_hash FROM posture_import_files').all();
    assert.deepEqual(files, [{ content_hash: 'h-osv' }]);
  });
});
