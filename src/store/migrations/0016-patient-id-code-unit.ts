import { type Kysely, sql } from 'kysely';
import type { MigrationContext } from '../migrate.ts';

/**
 * Patient lists page by id in code-unit order (patients.store.ts `idByCodeUnit`). SQLite's
 * primary key is already in that order. PostgreSQL's is in the column's collation, which in a
 * database created with a language collation (en-US) is another order, so every page sorted
 * all the unerased patients to return 50. This index is in code-unit order ("C") and holds only
 * unerased patients, the ones a list shows, so a page walks it from the cursor and stops.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema type exists
export async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  if (ctx.kind !== 'postgres') return;
  await sql`CREATE INDEX patients_id_code_unit ON patients (id COLLATE "C") WHERE erased_at IS NULL`.execute(
    db,
  );
}
