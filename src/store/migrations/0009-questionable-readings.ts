import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrate.ts';

/**
 * Which readings the data-quality rules judged questionable (issue 3, item 6), one row each,
 * so charts mark exactly those readings and not everything near them. No values: only the
 * code and the reading time, like the notices' spans; erasure deletes a patient's rows.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema type exists
export async function up(db: Kysely<any>, { bigint }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('questionable_readings')
    .addColumn('patient_id', 'text', (c) => c.notNull())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('ts_ms', bigint, (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('issue', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('questionable_readings_patient_ts')
    .on('questionable_readings')
    .columns(['patient_id', 'ts_ms'])
    .execute();
}
