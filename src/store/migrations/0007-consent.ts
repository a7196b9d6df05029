import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrate.ts';

/** Patient consent (FHIR Consent-like) and break-glass grants (issue #4). */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema type exists
export async function up(db: Kysely<any>, { bigint }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('consents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('patient_id', 'text', (c) => c.notNull().references('patients.id'))
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('purposes', 'text', (c) => c.notNull())
    .addColumn('categories', 'text', (c) => c.notNull())
    .addColumn('period_start', bigint, (c) => c.notNull())
    .addColumn('period_end', bigint)
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('recorded_by', 'text', (c) => c.notNull())
    .addColumn('recorded_at', bigint, (c) => c.notNull())
    .addColumn('revoked_at', bigint)
    .execute();
  await db.schema
    .createIndex('consents_patient')
    .on('consents')
    .columns(['patient_id', 'recorded_at'])
    .execute();
  await db.schema
    .createTable('break_glass')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('patient_id', 'text', (c) => c.notNull().references('patients.id'))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('started_ms', bigint, (c) => c.notNull())
    .addColumn('expires_ms', bigint, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('break_glass_actor')
    .on('break_glass')
    .columns(['actor', 'patient_id'])
    .execute();
}
