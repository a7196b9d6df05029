import { type Kysely, sql } from 'kysely';
import type { MigrationContext } from '../migrate.ts';

/**
 * Quarantine and release become one durable step: each writes a `device_events` row in the
 * transaction that changes the device's status (devices.store.ts), and a relay tailing the
 * table past its own cursor (src/notify/device-events-outbox.ts) writes the audit entry and
 * queues the webhooks. A crash after the status change then loses neither. The cursor starts at
 * 0 on an empty table: quarantines from before the upgrade were audited and announced at the
 * time, and have no row here.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema type exists
export async function up(db: Kysely<any>, { bigint, autoId }: MigrationContext): Promise<void> {
  await autoId(db.schema.createTable('device_events'))
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
    // 'quarantined' or 'released'.
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('at', bigint, (c) => c.notNull())
    .execute();
  await sql`INSERT INTO outbox_cursors (name, last_id) VALUES ('device-events', 0)`.execute(db);
}
