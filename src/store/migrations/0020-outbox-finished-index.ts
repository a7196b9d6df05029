import type { Kysely } from 'kysely';

/**
 * The outbox pruner (src/notify/outbox-retention.ts) looks every hour for finished deliveries
 * last changed before the retention cut-off. Without an index that read both whole tables on the
 * event loop, even when nothing was old enough. Leading with the state, these indexes hold the
 * finished rows in order of their last change, so the pruner reads only the rows it deletes.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema type exists
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('email_deliveries_finished')
    .on('email_deliveries')
    .columns(['state', 'updated_ms'])
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_finished')
    .on('webhook_deliveries')
    .columns(['state', 'updated_ms'])
    .execute();
}
