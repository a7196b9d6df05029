import type { Kysely } from 'kysely';
import type { Schema } from '../store/schema.ts';

/**
 * Where each outbox relay (outbox-relay.ts) has got to in the log it tails (migration 0015). The
 * cursor only moves by compare-and-set, in the transaction that writes what the relay made of
 * the events it passes: several relays on one database then hand each event on exactly once.
 */
export class OutboxCursors {
  constructor(private readonly db: Kysely<Schema>) {}

  /** The id of the last event handled. */
  async position(name: string): Promise<number> {
    const row = await this.db
      .selectFrom('outbox_cursors')
      .select('last_id')
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row) {
      throw new Error(
        `outbox cursor ${name} is missing: the migration that brought its relay creates it; restore it with the id of the last event already handled`,
      );
    }
    return Number(row.last_id);
  }

  /**
   * Moves the cursor from `from` to `to` and runs `work` in the same transaction. False, with
   * nothing written, when another relay moved the cursor since `from` was read: the caller reads
   * again from where it is now. On PostgreSQL the second UPDATE waits for the first one's commit
   * and then finds `last_id` changed; on SQLite transactions take the write lock at BEGIN.
   */
  async advance(
    name: string,
    from: number,
    to: number,
    work: (tx: Kysely<Schema>) => Promise<unknown>,
  ): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const moved = await tx
        .updateTable('outbox_cursors')
        .set({ last_id: to })
        .where('name', '=', name)
        .where('last_id', '=', from)
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) === 0) return false;
      await work(tx);
      return true;
    });
  }
}
