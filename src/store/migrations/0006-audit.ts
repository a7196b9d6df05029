import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrate.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema type exists
export async function up(db: Kysely<any>, { bigint }: MigrationContext): Promise<void> {
  // Signed checkpoints over the audit hash chain: each signs the head (seq, hash) at its time and
  // the previous checkpoint's signature, so removing entries past a checkpoint is found too.
  await db.schema
    .createTable('audit_checkpoints')
    .addColumn('id', bigint, (c) => c.primaryKey())
    .addColumn('audit_seq', bigint, (c) => c.notNull())
    .addColumn('audit_hash', 'text', (c) => c.notNull())
    .addColumn('ts', bigint, (c) => c.notNull())
    .addColumn('prev_signature', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_log_patient').on('audit_log').columns(['patient_id', 'ts']).execute();
  await db.schema.createIndex('audit_log_ts').on('audit_log').columns(['ts']).execute();
}
