import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrate.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema type exists
export async function up(db: Kysely<any>, { blob, bigint, autoId }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('sealed_secrets')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('master_key_id', 'text', (c) => c.notNull())
    .addColumn('sealed', blob, (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('data_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('master_key_id', 'text', (c) => c.notNull())
    .addColumn('wrapped', blob, (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('destroyed_at', bigint)
    .addUniqueConstraint('data_keys_owner', ['purpose', 'owner_id'])
    .execute();
  await db.schema
    .createTable('patients')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('sealed_identity', blob, (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('erased_at', bigint)
    .execute();
  await db.schema
    .createTable('devices')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('serial', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('enrolled_at', bigint)
    .addColumn('last_seq', bigint)
    .addColumn('last_hash', 'text')
    .addColumn('last_seen_ms', bigint)
    .addColumn('firmware', 'text')
    .addColumn('battery', 'real')
    .addColumn('quarantined_at', bigint)
    .addColumn('quarantine_reason', 'text')
    .execute();
  await autoId(db.schema.createTable('device_assignments'))
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
    .addColumn('patient_id', 'text', (c) => c.notNull().references('patients.id'))
    .addColumn('from_ms', bigint, (c) => c.notNull())
    .addColumn('to_ms', bigint)
    .execute();
  await db.schema
    .createIndex('device_assignments_device')
    .on('device_assignments')
    .columns(['device_id', 'from_ms'])
    .execute();
  await db.schema
    .createTable('device_certificates')
    .addColumn('serial', 'text', (c) => c.primaryKey())
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('not_before', bigint, (c) => c.notNull())
    .addColumn('not_after', bigint, (c) => c.notNull())
    .addColumn('issued_at', bigint, (c) => c.notNull())
    .addColumn('revoked_at', bigint)
    .addColumn('revoke_reason', 'text')
    .execute();
  await db.schema
    .createTable('enrollment_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('expires_at', bigint, (c) => c.notNull())
    .addColumn('used_at', bigint)
    .execute();
  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('expires_at', bigint, (c) => c.notNull())
    .addColumn('revoked_at', bigint)
    .execute();
  // Readings committed but not yet folded into a chunk: one row per accepted message.
  await db.schema
    .createTable('reading_staging')
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('seq', bigint, (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('patient_id', 'text', (c) => c.notNull())
    .addColumn('received_ms', bigint, (c) => c.notNull())
    .addColumn('min_ts', bigint, (c) => c.notNull())
    .addColumn('max_ts', bigint, (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('sealed', blob, (c) => c.notNull())
    .addPrimaryKeyConstraint('reading_staging_pk', ['device_id', 'seq', 'patient_id'])
    .execute();
  await db.schema
    .createIndex('reading_staging_patient')
    .on('reading_staging')
    .columns(['patient_id', 'min_ts'])
    .execute();
  await db.schema
    .createTable('reading_chunks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('patient_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('start_ms', bigint, (c) => c.notNull())
    .addColumn('end_ms', bigint, (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('codes', 'text', (c) => c.notNull())
    .addColumn('sealed', blob, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('reading_chunks_patient')
    .on('reading_chunks')
    .columns(['patient_id', 'start_ms'])
    .execute();
  await autoId(db.schema.createTable('security_events'))
    .addColumn('ts', bigint, (c) => c.notNull())
    .addColumn('device_id', 'text')
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('remote_address', 'text')
    .execute();
  await db.schema.createIndex('security_events_ts').on('security_events').columns(['ts']).execute();
  await db.schema
    .createTable('audit_log')
    .addColumn('seq', bigint, (c) => c.primaryKey())
    .addColumn('ts', bigint, (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('patient_id', 'text')
    .addColumn('resource', 'text', (c) => c.notNull())
    .addColumn('purpose', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('source', 'text')
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
}
