import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isPostgresDb } from '../access/patient-scope-sql.ts';
import type { Schema } from '../store/schema.ts';

export type EmailKind = 'raise' | 'escalate';
/** `withheld`: the alert was gone, its patient erased, or consent withdrawn by the time of sending. */
export type EmailState = 'pending' | 'sent' | 'failed' | 'no-address' | 'withheld';

/** A notice the outbox relay queues: which member to tell about which alert step. */
export interface EmailNotice {
  alertId: string;
  eventId: number;
  kind: EmailKind;
  member: string;
}

export interface EmailDelivery extends EmailNotice {
  id: string;
  state: EmailState;
  attempts: number;
  nextAttemptMs: number;
  lastError: string | null;
}

/** Rows per INSERT: 12 values each stays well under SQLite's bound-parameter limit (32,766). */
const INSERT_ROWS = 500;

function toDelivery(r: Schema['email_deliveries']): EmailDelivery {
  return {
    id: r.id,
    alertId: r.alert_id,
    eventId: Number(r.event_id),
    kind: r.kind as EmailKind,
    member: r.member,
    state: r.state as EmailState,
    attempts: Number(r.attempts),
    nextAttemptMs: Number(r.next_attempt_ms),
    lastError: r.last_error,
  };
}

/**
 * The alert e-mail queue (migration 0017). Rows are queued by the outbox relay in its cursor's
 * transaction and worked by EmailNotifier. A sender claims a row before sending it, by moving
 * its due time to the end of a lease and writing its own token, in one statement that only
 * takes rows still due: two senders on one database never hold one row at once, and a sender
 * that died mid-send leaves a row that falls due again when its lease runs out.
 */
export class EmailDeliveryStore {
  constructor(private readonly db: Kysely<Schema>) {}

  /**
   * Queues the notices on `db`, the relay's transaction. A notice already queued for its event
   * (a cursor wound back by hand) is dropped rather than failing the relay's pass.
   */
  async enqueue(db: Kysely<Schema>, notices: readonly EmailNotice[], nowMs: number): Promise<void> {
    const rows = notices.map((n) => ({
      id: `em_${randomBytes(12).toString('hex')}`,
      alert_id: n.alertId,
      event_id: n.eventId,
      kind: n.kind,
      member: n.member,
      state: 'pending',
      attempts: 0,
      next_attempt_ms: nowMs,
      claimed_by: null,
      last_error: null,
      created_ms: nowMs,
      updated_ms: nowMs,
    }));
    for (let i = 0; i < rows.length; i += INSERT_ROWS) {
      await db
        .insertInto('email_deliveries')
        .values(rows.slice(i, i + INSERT_ROWS))
        .onConflict((oc) => oc.columns(['event_id', 'kind']).doNothing())
        .execute();
    }
  }

  /**
   * Takes up to `limit` due rows for `claimant` until `nowMs + leaseMs`, oldest first. On
   * PostgreSQL SKIP LOCKED lets a second sender pass rows the first is claiming, and the outer
   * conditions, checked again on the row as it is after the first one's commit, keep it from
   * claiming them too. SQLite's UPDATE holds the write lock from its read to its write.
   */
  async claimDue(nowMs: number, limit: number, leaseMs: number, claimant: string): Promise<EmailDelivery[]> {
    let due = this.db
      .selectFrom('email_deliveries')
      .select('id')
      .where('state', '=', 'pending')
      .where('next_attempt_ms', '<=', nowMs)
      .orderBy('next_attempt_ms')
      .limit(limit);
    if (isPostgresDb(this.db)) due = due.forUpdate().skipLocked();
    const rows = await this.db
      .updateTable('email_deliveries')
      .set({ claimed_by: claimant, next_attempt_ms: nowMs + leaseMs, updated_ms: nowMs })
      .where('id', 'in', due)
      .where('state', '=', 'pending')
      .where('next_attempt_ms', '<=', nowMs)
      .returningAll()
      .execute();
    return rows.map(toDelivery).sort((x, y) => x.eventId - y.eventId);
  }

  /**
   * Records what became of a claimed row and lets go of it: `pending` puts it back in the queue
   * at `nextAttemptMs`. False when the claim was no longer `claimant`'s (its lease ran out and
   * another sender took the row): nothing is written.
   */
  async settle(
    id: string,
    claimant: string,
    outcome: { state: EmailState; attempts: number; nextAttemptMs: number; error: string | null },
    nowMs: number,
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('email_deliveries')
      .set({
        state: outcome.state,
        attempts: outcome.attempts,
        next_attempt_ms: outcome.nextAttemptMs,
        claimed_by: null,
        last_error: outcome.error === null ? null : outcome.error.slice(0, 300),
        updated_ms: nowMs,
      })
      .where('id', '=', id)
      .where('claimed_by', '=', claimant)
      .where('state', '=', 'pending')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async list(filter: { alertId?: string } = {}): Promise<EmailDelivery[]> {
    let q = this.db.selectFrom('email_deliveries').selectAll();
    if (filter.alertId) q = q.where('alert_id', '=', filter.alertId);
    return (await q.orderBy('event_id').orderBy('kind').execute()).map(toDelivery);
  }
}
