import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresDialect,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  sql,
} from 'kysely';
import pg from 'pg';
import { GatedConnection } from './gated-connection.ts';
import { migrateToLatest } from './migrate.ts';
import type { Schema } from './schema.ts';
import { SECURE_DELETE_PRAGMA } from './secure-delete.ts';
import { WriteGate } from './write-gate.ts';

/**
 * The backend seam: domain code speaks Kysely, which renders both SQLite and PostgreSQL.
 * The ingest hot path may also use the raw SQLite handle for prepared statements.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly db: Kysely<Schema>;
  readonly sqlite: BetterSqlite3.Database | undefined;
  /** SQLite: taken around every Kysely write (not reads); other threads writing the file take it too. */
  readonly writeGate?: WriteGate;
  close(): Promise<void>;
}

export interface StoreOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  /** For PostgreSQL tests: a schema of their own. */
  pgSchema?: string;
}

export function sqlitePath(dataDir: string): string {
  return join(dataDir, 'vigil.db');
}

/**
 * SQLite creates its files 0644, and mkdirSync's 0700 does not apply to a data dir that already
 * existed (0755): others on the host could read the database. Done before WAL mode is set, as
 * SQLite gives the -wal and -shm files it creates the database file's mode.
 */
function restrictToOwner(dbPath: string): void {
  for (const path of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) {
    try {
      chmodSync(path, 0o600);
    } catch (e) {
      // Absent (-wal, -shm before the first open) or another user's file: nothing to tighten here.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EPERM') throw e;
    }
  }
}

function openSqlite(dataDir: string): BetterSqlite3.Database {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new BetterSqlite3(sqlitePath(dataDir));
  restrictToOwner(sqlitePath(dataDir));
  db.pragma('journal_mode = WAL');
  // FULL: a commit is on disk (fsync) before we acknowledge; group commit pays one fsync per batch.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma(SECURE_DELETE_PRAGMA);
  return db;
}

/**
 * Transactions take the write lock when they begin (BEGIN IMMEDIATE). With the default deferred
 * BEGIN, a transaction that reads and then writes while another process (the server) commits
 * in between fails at once with "database is locked" instead of waiting its turn: the CLI and
 * the audit log both read-then-write.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  constructor(
    database: BetterSqlite3.Database,
    private readonly gate: WriteGate,
  ) {
    super({ database });
  }

  // The WriteGate is taken only to write (see gated-connection.ts): reads never wait for it.
  override async acquireConnection(): Promise<DatabaseConnection> {
    return new GatedConnection(await super.acquireConnection(), this.gate);
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as GatedConnection).begin();
  }

  override async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as GatedConnection).commit();
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as GatedConnection).rollback();
  }

  // Kysely passes the connection, though SqliteDriver's signature leaves it out.
  override async releaseConnection(connection?: DatabaseConnection): Promise<void> {
    (connection as GatedConnection | undefined)?.release();
    await super.releaseConnection();
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(
    private readonly database: BetterSqlite3.Database,
    private readonly gate: WriteGate,
  ) {
    super({ database });
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.database, this.gate);
  }
}

/**
 * After an erasure: checkpoints the WAL and truncates it, so the frames that still hold the
 * page as it was before (the wrapped data key included) leave the WAL, and the zeroed page
 * replaces the old one in the database file. Waits for readers on older snapshots a few times;
 * false if one still held the WAL (its frames are then overwritten only as the WAL is reused).
 * PostgreSQL has no such file here: its operators own vacuum and storage.
 */
export async function scrubWal(db: Kysely<Schema>, attempts = 3): Promise<boolean> {
  if (!(db.getExecutor().adapter instanceof SqliteAdapter)) return true;
  // better-sqlite3 waits on the event loop: a reader in another process must not hold the
  // whole server for the connection's usual busy timeout, so each try waits briefly and the
  // pause between tries yields.
  const { rows: before } = await sql<{ timeout: number }>`PRAGMA busy_timeout`.execute(db);
  await sql`PRAGMA busy_timeout = 50`.execute(db);
  try {
    for (let i = 0; i < attempts; i++) {
      const { rows } = await sql<{ busy: number }>`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db);
      if (rows[0]?.busy === 0) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  } finally {
    await sql.raw(`PRAGMA busy_timeout = ${Number(before[0]?.timeout ?? 5000)}`).execute(db);
  }
}

export async function openStore(opts: StoreOptions): Promise<Store> {
  if (opts.databaseUrl) {
    // PostgreSQL returns BIGINT as text by default; our times fit in a double exactly.
    pg.types.setTypeParser(20, (v) => Number(v));
    const schema = opts.pgSchema?.replace(/[^a-z0-9_]/gi, '');
    if (schema) {
      const setup = new pg.Client({ connectionString: opts.databaseUrl });
      await setup.connect();
      await setup.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await setup.end();
    }
    // search_path as a startup option holds for every pooled connection from its first query.
    const pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: 10,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
    await migrateToLatest(db as Kysely<unknown>, 'postgres', schema);
    return { kind: 'postgres', db, sqlite: undefined, close: () => db.destroy() };
  }
  const sqlite = openSqlite(opts.dataDir);
  const writeGate = new WriteGate();
  const db = new Kysely<Schema>({ dialect: new ImmediateSqliteDialect(sqlite, writeGate) });
  await migrateToLatest(db as Kysely<unknown>, 'sqlite');
  return {
    kind: 'sqlite',
    db,
    sqlite,
    writeGate,
    close: async () => {
      await db.destroy();
    },
  };
}
