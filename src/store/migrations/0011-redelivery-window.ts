import { type Kysely, sql } from 'kysely';
import type { MigrationContext } from '../migrate.ts';

/**
 * The payload fingerprints of each device's last sealed messages. Sealing a run deletes its
 * staging rows, and with them the fingerprints that let a restarted server tell a device's
 * resend of a message committed just before a crash (PUBACK lost) from a replay. One row per
 * message and patient, pruned to the newest few per device at each seal; clustered by (device,
 * seq) on SQLite so a seal appends to and trims one key range. The patient is kept so erasure
 * can delete the patient's rows.
 *
 * Fingerprints are keyed from this release on (src/ingest/message-fingerprint.ts); the plain
 * SHA-256 hashes earlier releases kept would let anyone with the file test guesses at the
 * readings, so they are overwritten with a marker no fingerprint equals. The only cost: a
 * device's resend of a message stored before the upgrade is refused as a replay, which a
 * device reads as "already stored".
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema type exists
export async function up(db: Kysely<any>, { kind, bigint }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('redelivery_window')
    // Releases that ran migrations outside a transaction could stop right after this table was
    // made and before the migration was recorded; the same table then is simply kept.
    .ifNotExists()
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('seq', bigint, (c) => c.notNull())
    .addColumn('patient_id', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('redelivery_window_pk', ['device_id', 'seq', 'patient_id'])
    .$call((t) => (kind === 'sqlite' ? t.modifyEnd(sql`without rowid`) : t))
    .execute();
  await db.updateTable('reading_staging').set({ hash: PLAIN_HASH_REMOVED }).execute();
  await db
    .updateTable('devices')
    .set({ last_hash: PLAIN_HASH_REMOVED })
    .where('last_hash', 'is not', null)
    .execute();
}

const PLAIN_HASH_REMOVED = 'plain-hash-removed';
