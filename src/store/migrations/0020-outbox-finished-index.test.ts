import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { type Compilable, Kysely, SqliteDialect } from 'kysely';
import type pg from 'pg';
import { openScratchSchema } from '../../../test/support/pg-scratch-schema.ts';
import { oldFinishedIds } from '../../notify/outbox-retention.ts';
import { migrateTo, migrateToLatest } from '../migrate.ts';
import type { Schema } from '../schema.ts';

const BEFORE = '0019-scrub-free-space';
const TABLES = ['email_deliveries', 'webhook_deliveries'] as const;

describe('migration 0020: the outbox pruner searches the old finished rows (SQLite)', () => {
  let dir: string;
  let db: BetterSqlite3.Database;
  let kysely: Kysely<unknown>;
  /** The same connection, typed for the pruner's query builders. */
  const typed = () => kysely as unknown as Kysely<Schema>;
  const plan = (query: Compilable) => {
    const { sql, parameters } = query.compile();
    return (
      db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...(parameters as unknown[])) as Array<{ detail: string }>
    )
      .map((r) => r.detail)
      .join('; ');
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-0020-'));
    db = new BetterSqlite3(join(dir, 'vigil.db'));
    kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) });
    await migrateTo(kysely, 'sqlite', BEFORE);
  });
  after(async () => {
    await kysely.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('turns the read of every finished row into a search of its finished rows by last change', async () => {
    // Before: every finished row was read (through the due index's state, or the whole table).
    for (const table of TABLES)
      assert.match(
        plan(oldFinishedIds[table](typed(), 1000, 1000)),
        new RegExp(`^(SCAN ${table}|SEARCH ${table} USING INDEX ${table}_due \\(state=\\?\\))$`),
      );
    await migrateToLatest(kysely, 'sqlite');
    for (const table of TABLES)
      assert.match(
        plan(oldFinishedIds[table](typed(), 1000, 1000)),
        new RegExp(`SEARCH ${table} USING INDEX ${table}_finished \\(state=\\? AND updated_ms<\\?\\)`),
      );
  });
});

describe('migration 0020 on PostgreSQL', () => {
  let schema: string;
  let pool: pg.Pool;
  let kysely: Kysely<unknown>;
  let drop: () => Promise<void>;

  before(async () => {
    ({ schema, pool, kysely, drop } = await openScratchSchema('vigil_0020'));
  });
  after(() => drop());

  it('adds an index on (state, updated_ms) to each delivery table', async () => {
    await migrateTo(kysely, 'postgres', BEFORE, schema);
    await migrateToLatest(kysely, 'postgres', schema);
    for (const table of TABLES) {
      const { rows } = await pool.query(
        'SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = $2',
        [schema, `${table}_finished`],
      );
      assert.equal(rows.length, 1, table);
      assert.match(rows[0].indexdef, /\(state, updated_ms\)/);
    }
  });
});
