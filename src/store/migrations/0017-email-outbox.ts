import { type Kysely, sql } from 'kysely';
import type { MigrationContext } from '../migrate.ts';

/**
 * Alert e-mails become durable: a relay tailing `alert_events` past a cursor of its own
 * (src/notify/email-outbox.ts) queues them here in the transaction that moves the cursor, and a
 * sender (email-notifier.ts) works the queue with retries that survive a restart. A row names the care-team member, not the address: the address is
 * looked up when the message is sent, so a user who changed it, or was disabled, is honoured.
 * One notice per alert event and kind: a cursor wound back by hand mails nobody twice. The
 * cursor starts at the newest event there is: an upgrade mails nothing from before it, which the
 * earlier releases have already mailed (or lost) at the time.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema type exists
export async function up(db: Kysely<any>, { bigint }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('email_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('alert_id', 'text', (c) => c.notNull())
    .addColumn('event_id', bigint, (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('member', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    // When a pending row is next due; while a sender holds it, when its claim runs out.
    .addColumn('next_attempt_ms', bigint, (c) => c.notNull())
    .addColumn('claimed_by', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_ms', bigint, (c) => c.notNull())
    .addColumn('updated_ms', bigint, (c) => c.notNull())
    .addUniqueConstraint('email_deliveries_event_kind', ['event_id', 'kind'])
    .execute();
  await db.schema
    .createIndex('email_deliveries_due')
    .on('email_deliveries')
    .columns(['state', 'next_attempt_ms'])
    .execute();
  await sql`
    INSERT INTO outbox_cursors (name, last_id)
    SELECT 'email-alert-events', COALESCE(MAX(id), 0) FROM alert_events
  `.execute(db);
}
