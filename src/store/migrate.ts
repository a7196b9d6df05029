import {
  type CreateTableBuilder,
  type Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
} from 'kysely';
import * as initial from './migrations/0001-initial.ts';
import * as posture from './migrations/0002-posture.ts';
import * as alerts from './migrations/0003-alerts.ts';
import * as access from './migrations/0004-access.ts';
import * as audit from './migrations/0006-audit.ts';
import * as consent from './migrations/0007-consent.ts';
import * as notifications from './migrations/0008-notifications.ts';
import * as questionable from './migrations/0009-questionable-readings.ts';

export interface MigrationContext {
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
};

export async function migrateToLatest(
  db: Kysely<unknown>,
  kind: 'sqlite' | 'postgres',
  schema?: string,
): Promise<string[]> {
  const ctx: MigrationContext = {
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
        out[name] = { up: (d) => step.up(d as Kysely<never>, ctx) };
      }
      return out;
    },
  };
  // Naming the schema keeps Kysely from finding another schema's bookkeeping tables.
  const migrator = new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
