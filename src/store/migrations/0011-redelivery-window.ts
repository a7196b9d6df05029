import { type Kysely, sql } from 'kysely';
import type { MigrationContext } from '../migrate.ts';

/**
 * The payload hashes of each device's last sealed messages. Sealing a run deletes its staging
 * rows, and with them the hashes that let a restarted server tell a device's resend of a
 * message committed just before a crash (PUBACK lost) from a replay. One row per message,
 * pruned to the newest few per device at each seal; clustered by (device, seq) on SQLite so a
 * seal appends to and trims one key range.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema type exists
export async function up(db: Kysely<any>, { kind, bigint }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('redelivery_window')
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('seq', bigint, (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('redelivery_window_pk', ['device_id', 'seq'])
    .$call((t) => (kind === 'sqlite' ? t.modifyEnd(sql`without rowid`) : t))
    .execute();
}
