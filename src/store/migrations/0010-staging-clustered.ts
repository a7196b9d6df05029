import { type Kysely, sql } from 'kysely';
import type { MigrationContext } from '../migrate.ts';

/**
 * Staging rows clustered by (patient, device, seq), ADR 0002 "write amplification". In a rowid
 * table a device's rows lay spread over the table in commit order, so deleting a sealed run
 * touched a page per few rows, and the primary-key and patient indexes each took a random leaf
 * per insert. WITHOUT ROWID keeps the rows in the primary key's b-tree itself: a message's
 * insert lands on its run's leaf and a run's delete is one key range. Patient queries use the
 * key's prefix, so the (patient_id, min_ts) index goes: min_ts narrows a patient's few open
 * rows no further worth an index. The key's columns are the same set as before (only their
 * order changes), so INSERT OR IGNORE still drops a redelivered message.
 *
 * SQLite cannot change a table's key in place: build the new table, copy, drop, rename, in one
 * transaction (the migrator runs SQLite migrations outside one), so a crash leaves the old
 * table whole. PostgreSQL has no clustered tables; it gets the same key order and loses the
 * extra index, so both backends keep the same schema.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema type exists
export async function up(db: Kysely<any>, { kind, blob, bigint }: MigrationContext): Promise<void> {
  if (kind === 'postgres') {
    await db.schema.dropIndex('reading_staging_patient').execute();
    await db.schema.alterTable('reading_staging').dropConstraint('reading_staging_pk').execute();
    await db.schema
      .alterTable('reading_staging')
      .addPrimaryKeyConstraint('reading_staging_pk', ['patient_id', 'device_id', 'seq'])
      .execute();
    return;
  }
  await db.transaction().execute(async (trx) => {
    await trx.schema
      .createTable('reading_staging_new')
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('seq', bigint, (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('patient_id', 'text', (c) => c.notNull())
      .addColumn('received_ms', bigint, (c) => c.notNull())
      .addColumn('min_ts', bigint, (c) => c.notNull())
      .addColumn('max_ts', bigint, (c) => c.notNull())
      .addColumn('count', 'integer', (c) => c.notNull())
      .addColumn('sealed', blob, (c) => c.notNull())
      .addPrimaryKeyConstraint('reading_staging_pk', ['patient_id', 'device_id', 'seq'])
      .modifyEnd(sql`without rowid`)
      .execute();
    await sql`INSERT INTO reading_staging_new (device_id, seq, hash, patient_id, received_ms, min_ts, max_ts, count, sealed)
      SELECT device_id, seq, hash, patient_id, received_ms, min_ts, max_ts, count, sealed FROM reading_staging`.execute(
      trx,
    );
    // Its index reading_staging_patient goes with it.
    await trx.schema.dropTable('reading_staging').execute();
    await trx.schema.alterTable('reading_staging_new').renameTo('reading_staging').execute();
  });
}
