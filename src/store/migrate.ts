import {
  type CreateTableBuilder,
  type Kysely,
  type Migration,
  type MigrationProvider,
  type MigrationResultSet,
  Migrator,
  sql,
} from 'kysely';
import { VigilError } from '../errors/catalogue.ts';
import * as initial from './migrations/0001-initial.ts';
import * as posture from './migrations/0002-posture.ts';
import * as alerts from './migrations/0003-alerts.ts';
import * as access from './migrations/0004-access.ts';
import * as audit from './migrations/0006-audit.ts';
import * as consent from './migrations/0007-consent.ts';
import * as notifications from './migrations/0008-notifications.ts';
import * as questionable from './migrations/0009-questionable-readings.ts';
import * as stagingClustered from './migrations/0010-staging-clustered.ts';
import * as redeliveryWindow from './migrations/0011-redelivery-window.ts';
import * as wideChunks from './migrations/0012-wide-chunks.ts';
import * as vexVersionRange from './migrations/0013-vex-version-range.ts';
import * as careTeamMemberIndex from './migrations/0014-care-team-member-index.ts';
import * as webhookOutbox from './migrations/0015-webhook-outbox.ts';
import * as patientIdCodeUnit from './migrations/0016-patient-id-code-unit.ts';
import * as emailOutbox from './migrations/0017-email-outbox.ts';
import * as deviceEvents from './migrations/0018-device-events.ts';
import * as scrubFreeSpace from './migrations/0019-scrub-free-space.ts';
import * as outboxFinishedIndex from './migrations/0020-outbox-finished-index.ts';

export interface MigrationContext {
  /** For the few changes SQLite and PostgreSQL spell differently (table rebuilds, WITHOUT ROWID). */
  kind: 'sqlite' | 'postgres';
  /** Column types that differ between SQLite and PostgreSQL. */
  blob: 'blob' | 'bytea';
  bigint: 'bigint';
  /** An auto-incrementing integer primary key: INTEGER AUTOINCREMENT on SQLite, SERIAL on PostgreSQL. */
  autoId<T extends CreateTableBuilder<string, never>>(table: T): T;
}

type Step = { up(db: Kysely<never>, ctx: MigrationContext): Promise<void> };

/** Numbered migrations, applied in order; a migration, once released, is never edited. */
const STEPS: Record<string, Step> = {
  '0001-initial': initial as unknown as Step,
  '0002-posture': posture as unknown as Step,
  '0003-alerts': alerts as unknown as Step,
  '0004-access': access as unknown as Step,
  '0006-audit': audit as unknown as Step,
  '0007-consent': consent as unknown as Step,
  '0008-notifications': notifications as unknown as Step,
  '0009-questionable-readings': questionable as unknown as Step,
  '0010-staging-clustered': stagingClustered as unknown as Step,
  '0011-redelivery-window': redeliveryWindow as unknown as Step,
  '0012-wide-chunks': wideChunks as unknown as Step,
  '0013-vex-version-range': vexVersionRange as unknown as Step,
  '0014-care-team-member-index': careTeamMemberIndex as unknown as Step,
  '0015-webhook-outbox': webhookOutbox as unknown as Step,
  '0016-patient-id-code-unit': patientIdCodeUnit as unknown as Step,
  '0017-email-outbox': emailOutbox as unknown as Step,
  '0018-device-events': deviceEvents as unknown as Step,
  '0019-scrub-free-space': scrubFreeSpace as unknown as Step,
  '0020-outbox-finished-index': outboxFinishedIndex as unknown as Step,
};

/** Recorded migrations this version does not have, in order: a newer Vigil made the store. */
export function unknownMigrations(recorded: readonly string[]): string[] {
  return recorded.filter((name) => !(name in STEPS)).sort();
}

/** What to tell the operator about a store (`what`) a newer Vigil has migrated. */
export function newerVigilDetail(what: string, unknown: readonly string[]): string {
  return `${what} was made by a newer Vigil (${unknown.join(', ')}); upgrade Vigil first`;
}

/**
 * Kysely refuses a store that records migrations it does not know only once it runs, as
 * "corrupted migrations: previously executed migration ... is missing", which tells an operator
 * nothing; a store a newer Vigil made is refused here, before anything is run, saying what to do.
 */
async function refuseNewerStore(db: Kysely<unknown>, kind: 'sqlite' | 'postgres', schema?: string) {
  const table = schema ? sql.table(`${schema}.kysely_migration`) : sql.table('kysely_migration');
  let recorded: string[];
  try {
    const { rows } = await sql<{ name: string }>`SELECT name FROM ${table}`.execute(db);
    recorded = rows.map((r) => r.name);
  } catch {
    return; // No bookkeeping table yet: a new store.
  }
  const unknown = unknownMigrations(recorded);
  if (unknown.length > 0) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      newerVigilDetail(kind === 'sqlite' ? 'this database' : 'this PostgreSQL database', unknown),
    );
  }
}

function migratorFor(db: Kysely<unknown>, kind: 'sqlite' | 'postgres', schema?: string): Migrator {
  const ctx: MigrationContext = {
    kind,
    blob: kind === 'postgres' ? 'bytea' : 'blob',
    bigint: 'bigint',
    autoId: (table) =>
      (kind === 'postgres'
        ? table.addColumn('id', 'serial', (c) => c.primaryKey())
        : table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())) as typeof table,
  };
  const provider: MigrationProvider = {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, step] of Object.entries(STEPS)) {
        out[name] = {
          up: (d) => step.up((kind === 'sqlite' ? withinRunTransaction(d) : d) as Kysely<never>, ctx),
        };
      }
      return out;
    },
  };
  // Naming the schema keeps Kysely from finding another schema's bookkeeping tables.
  const migrated = kind === 'postgres' ? withOwnSchemaIntrospection(db, schema) : db;
  return new Migrator({ db: migrated, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
}

/**
 * Kysely's migrator asks whether its bookkeeping tables exist by listing every table of every
 * schema in the database, with a function call per column that names the column's schema. A
 * schema dropped by someone else between the listing and that call fails the whole migration
 * ("schema ... does not exist": seen when test files dropped their scratch schemas while
 * another migrated). The migrator only needs the names of the tables in its own schema, so on
 * PostgreSQL it gets just those.
 */
function withOwnSchemaIntrospection(db: Kysely<unknown>, schema: string | undefined): Kysely<unknown> {
  const introspection: Pick<Kysely<unknown>['introspection'], 'getSchemas' | 'getTables'> = {
    getSchemas: () => db.introspection.getSchemas(),
    async getTables() {
      const { rows } = await sql<{ name: string; schema: string }>`
        SELECT table_name AS name, table_schema AS schema FROM information_schema.tables
        WHERE table_schema = ${schema ?? sql`current_schema()`}`.execute(db);
      return rows.map((r) => ({ name: r.name, schema: r.schema, isView: false, columns: [] }));
    },
  };
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'introspection') return introspection;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function applied({ error, results }: MigrationResultSet): string[] {
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * A step's own `db.transaction()` (0010 opens one) runs inside the run's transaction: SQLite
 * cannot nest BEGIN.
 */
function withinRunTransaction(db: Kysely<unknown>): Kysely<unknown> {
  const passThrough = { execute: <T>(work: (trx: Kysely<unknown>) => Promise<T>) => work(db) };
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'transaction') return () => passThrough;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Runs the migrator so that its steps and its record of them commit together or not at all.
 * Kysely runs SQLite migrations outside a transaction (its SQLite adapter says SQLite has no
 * transactional DDL; it has): a crash, kill or SQLITE_FULL inside a step left the step half
 * applied and unrecorded, and every later start re-ran it and failed ("table already exists"),
 * so neither the server nor any command could open the store. PostgreSQL runs are already
 * wrapped in a transaction by Kysely.
 */
async function runAtomically(
  db: Kysely<unknown>,
  kind: 'sqlite' | 'postgres',
  go: (db: Kysely<unknown>) => Promise<MigrationResultSet>,
): Promise<string[]> {
  if (kind === 'postgres') return applied(await go(db));
  return db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    let names: string[];
    try {
      names = applied(await go(conn));
    } catch (error) {
      // SQLite has already rolled back after some errors (SQLITE_FULL): nothing left to undo.
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw error;
    }
    await sql`commit`.execute(conn);
    return names;
  });
}

export async function migrateToLatest(
  db: Kysely<unknown>,
  kind: 'sqlite' | 'postgres',
  schema?: string,
): Promise<string[]> {
  await refuseNewerStore(db, kind, schema);
  return runAtomically(db, kind, (d) => migratorFor(d, kind, schema).migrateToLatest());
}

/**
 * Applies the migrations up to and including `name` (a key of STEPS): tests and benches build
 * a database as an older release left it, then migrate it to the latest.
 */
export async function migrateTo(
  db: Kysely<unknown>,
  kind: 'sqlite' | 'postgres',
  name: string,
  schema?: string,
): Promise<string[]> {
  if (!(name in STEPS))
    throw new Error(`no migration named ${name}; known: ${Object.keys(STEPS).join(', ')}`);
  return runAtomically(db, kind, (d) => migratorFor(d, kind, schema).migrateTo(name));
}
