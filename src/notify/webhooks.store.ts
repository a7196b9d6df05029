import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isPostgresDb } from '../access/patient-scope-sql.ts';
import type { KeyRing } from '../crypto/key-ring.ts';
import { VigilError } from '../errors/catalogue.ts';
import type { Schema } from '../store/schema.ts';

/**
 * `withheld`: an alert delivery not sent because, by the time of an attempt, its alert was gone,
 * its patient erased, or consent withdrawn (as an alert e-mail's `withheld`).
 */
export type DeliveryState = 'pending' | 'delivered' | 'dead' | 'withheld';

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  description: string;
  createdBy: string;
  createdMs: number;
}

export interface Delivery {
  id: string;
  webhookId: string;
  eventType: string;
  payload: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptMs: number;
  lastStatus: number | null;
  lastError: string | null;
  createdMs: number;
  updatedMs: number;
}

/** An event to queue for every subscriber of its type. */
export interface WebhookEventToQueue {
  eventType: string;
  payload: string;
}

const secretName = (webhookId: string) => `webhook|${webhookId}`;
/** Rows per INSERT: 11 values each stays well under SQLite's bound-parameter limit (32,766). */
const INSERT_ROWS = 500;

/** A new delivery, due at once; its id is the `webhook-id` every attempt carries. */
function newDelivery(webhookId: string, eventType: string, payload: string, nowMs: number) {
  return {
    id: `msg_${randomBytes(12).toString('hex')}`,
    webhook_id: webhookId,
    event_type: eventType,
    payload,
    state: 'pending',
    attempts: 0,
    next_attempt_ms: nowMs,
    last_status: null,
    last_error: null,
    created_ms: nowMs,
    updated_ms: nowMs,
  };
}

function toWebhook(r: Schema['webhooks']): Webhook {
  return {
    id: r.id,
    url: r.url,
    events: JSON.parse(r.events) as string[],
    description: r.description,
    createdBy: r.created_by,
    createdMs: Number(r.created_at),
  };
}

function toDelivery(r: Schema['webhook_deliveries']): Delivery {
  return {
    id: r.id,
    webhookId: r.webhook_id,
    eventType: r.event_type,
    payload: r.payload,
    state: r.state as DeliveryState,
    attempts: Number(r.attempts),
    nextAttemptMs: Number(r.next_attempt_ms),
    lastStatus: r.last_status === null ? null : Number(r.last_status),
    lastError: r.last_error,
    createdMs: Number(r.created_ms),
    updatedMs: Number(r.updated_ms),
  };
}

/**
 * Webhook subscriptions and their delivery queue. The queue is a table, so a delivery
 * survives a restart; its id is the Standard Webhooks `webhook-id`, the same on every attempt,
 * which lets a receiver drop a repeat. Signing secrets are sealed by the key ring.
 */
export class WebhookStore {
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly keys: KeyRing,
  ) {}

  async create(input: {
    url: string;
    events: readonly string[];
    description: string;
    createdBy: string;
    secret: string;
    nowMs: number;
  }): Promise<Webhook> {
    const id = `wh_${randomBytes(8).toString('hex')}`;
    await this.keys.putSecret(secretName(id), Buffer.from(input.secret));
    await this.db
      .insertInto('webhooks')
      .values({
        id,
        url: input.url,
        events: JSON.stringify(input.events),
        description: input.description,
        created_by: input.createdBy,
        created_at: input.nowMs,
      })
      .execute();
    return this.get(id);
  }

  async get(id: string): Promise<Webhook> {
    const row = await this.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new VigilError('VIGIL_ERR_WEBHOOK_UNKNOWN', `no webhook ${id.slice(0, 64)}`);
    return toWebhook(row);
  }

  async list(): Promise<Webhook[]> {
    return (await this.db.selectFrom('webhooks').selectAll().orderBy('created_at').execute()).map(toWebhook);
  }

  async subscribersOf(eventType: string): Promise<Webhook[]> {
    return (await this.list()).filter((w) => w.events.includes(eventType));
  }

  async secret(id: string): Promise<string> {
    return (await this.keys.getSecret(secretName(id))).toString();
  }

  /** Removes the subscription, its secret and its queued deliveries; false if it did not exist. */
  async delete(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const r = await tx.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) return false;
      await tx.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
      await tx.deleteFrom('sealed_secrets').where('name', '=', secretName(id)).execute();
      return true;
    });
  }

  async enqueue(webhookId: string, eventType: string, payload: string, nowMs: number): Promise<string> {
    const row = newDelivery(webhookId, eventType, payload, nowMs);
    await this.db.insertInto('webhook_deliveries').values(row).execute();
    return row.id;
  }

  /**
   * Queues each event, in order, for every subscriber of its type, on `db`: the caller's
   * transaction (the alert outbox relay's), so that the rows commit with the caller's own change
   * or not at all. Subscribers are read on it too, so a subscription removed meanwhile gets none.
   */
  async enqueueForSubscribers(
    db: Kysely<Schema>,
    events: readonly WebhookEventToQueue[],
    nowMs: number,
  ): Promise<number> {
    if (events.length === 0) return 0;
    let subscribers = db.selectFrom('webhooks').selectAll().orderBy('created_at');
    // On PostgreSQL a removal committing meanwhile would not see the rows queued here and would
    // leave them behind; FOR SHARE makes it wait for this transaction and then delete them too.
    // SQLite's transaction already holds the write lock.
    if (isPostgresDb(db)) subscribers = subscribers.forShare();
    const webhooks = (await subscribers.execute()).map(toWebhook);
    const rows = events.flatMap((e) =>
      webhooks
        .filter((w) => w.events.includes(e.eventType))
        .map((w) => newDelivery(w.id, e.eventType, e.payload, nowMs)),
    );
    for (let i = 0; i < rows.length; i += INSERT_ROWS) {
      await db
        .insertInto('webhook_deliveries')
        .values(rows.slice(i, i + INSERT_ROWS))
        .execute();
    }
    return rows.length;
  }

  /**
   * Pending deliveries whose time has come, oldest first, but for `exceptIds` (the dispatcher's
   * sent ones whose outcome it could not record yet, a few hundred at most: bound one each).
   */
  async due(nowMs: number, limit: number, exceptIds: readonly string[] = []): Promise<Delivery[]> {
    let query = this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('state', '=', 'pending')
      .where('next_attempt_ms', '<=', nowMs);
    if (exceptIds.length > 0) query = query.where('id', 'not in', exceptIds);
    const rows = await query.orderBy('next_attempt_ms').limit(limit).execute();
    return rows.map(toDelivery);
  }

  /** Records one attempt's outcome: delivered, tried again at `nextAttemptMs`, or dead. */
  async recordAttempt(
    id: string,
    outcome: {
      state: DeliveryState;
      attempts: number;
      nextAttemptMs: number;
      status: number | null;
      error: string | null;
    },
    nowMs: number,
  ): Promise<void> {
    await this.db
      .updateTable('webhook_deliveries')
      .set({
        state: outcome.state,
        attempts: outcome.attempts,
        next_attempt_ms: outcome.nextAttemptMs,
        last_status: outcome.status,
        last_error: outcome.error === null ? null : outcome.error.slice(0, 300),
        updated_ms: nowMs,
      })
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .execute();
  }

  /**
   * Withholds a pending delivery for good. Its payload goes (it names the patient, the condition
   * and the times): a withheld alert of an erased patient keeps no clinical fact in clear.
   */
  async withhold(id: string, nowMs: number): Promise<void> {
    await this.db
      .updateTable('webhook_deliveries')
      .set({ state: 'withheld', payload: '', next_attempt_ms: nowMs, updated_ms: nowMs })
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .execute();
  }

  async deliveries(filter: { state?: DeliveryState; limit: number }): Promise<Delivery[]> {
    let q = this.db.selectFrom('webhook_deliveries').selectAll();
    if (filter.state) q = q.where('state', '=', filter.state);
    const rows = await q.orderBy('created_ms', 'desc').orderBy('id').limit(filter.limit).execute();
    return rows.map(toDelivery);
  }

  /** Puts a dead-lettered delivery back in the queue with a fresh set of attempts. */
  async retry(id: string, nowMs: number): Promise<Delivery> {
    const r = await this.db
      .updateTable('webhook_deliveries')
      .set({ state: 'pending', attempts: 0, next_attempt_ms: nowMs, updated_ms: nowMs })
      .where('id', '=', id)
      .where('state', '=', 'dead')
      .executeTakeFirst();
    const row = await this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw new VigilError('VIGIL_ERR_WEBHOOK_DELIVERY_UNKNOWN', `no delivery ${id.slice(0, 64)}`);
    if (Number(r.numUpdatedRows) === 0) {
      throw new VigilError(
        'VIGIL_ERR_WEBHOOK_DELIVERY_STATE',
        `delivery ${id} is ${row.state}; only a dead-lettered delivery can be retried`,
      );
    }
    return toDelivery(row);
  }
}
