import { type Kysely, sql } from 'kysely';
import type { MigrationContext } from '../migrate.ts';

/**
 * `alert_events` becomes the outbox of alert webhooks (src/notify/alert-outbox.ts): a relay
 * reads the events past its cursor and queues their deliveries in the transaction that moves the
 * cursor, so an alert step committed just before a crash is still announced after the restart.
 * The cursor starts at the newest event there is: an upgrade announces nothing from before it,
 * which the earlier releases have already announced (or lost) at the time.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema type exists
export async function up(db: Kysely<any>, { bigint }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('outbox_cursors')
    .addColumn('name', 'text', (c) => c.primaryKey())
    // The id of the last event handled; the next pass reads the ones after it.
    .addColumn('last_id', bigint, (c) => c.notNull())
    .execute();
  await sql`
    INSERT INTO outbox_cursors (name, last_id)
    SELECT 'webhook-alert-events', COALESCE(MAX(id), 0) FROM alert_events
  `.execute(db);
}
