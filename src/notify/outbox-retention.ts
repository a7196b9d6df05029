import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ExpressionBuilder, Kysely } from 'kysely';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Schema } from '../store/schema.ts';
import { DEVICE_EVENTS_CURSOR } from './device-events-outbox.ts';
import type { EmailState } from './email-deliveries.store.ts';
import type { DeliveryState } from './webhooks.store.ts';

export const PRUNE_INTERVAL_MS = 60 * 60_000;
/** The first pass waits this long after start, so that it stays out of the way of start-up. */
export const FIRST_PRUNE_AFTER_MS = 60_000;
/**
 * Rows per DELETE. On SQLite a DELETE holds the write lock (and the write gate the ingest writer
 * also takes) for as long as it runs, and secure_delete overwrites every row it removes: a
 * thousand keeps that to milliseconds, however large the backlog.
 */
export const PRUNE_BATCH_ROWS = 1000;
const DAY_MS = 86_400_000;

export type OutboxTable = 'email_deliveries' | 'webhook_deliveries' | 'device_events';
export type PrunedCounts = Record<OutboxTable, number>;

/**
 * The end states of the queues. Pending rows (among them those a sender has claimed, or sent and
 * not recorded yet) are never pruned, whatever their age: they are work still to do.
 */
const EMAIL_FINISHED = ['sent', 'failed', 'no-address', 'withheld'] satisfies EmailState[];
/**
 * 'dead' is the dead-letter list on the Webhooks screen: it is pruned by the same age rule, as
 * are 'withheld' rows (alert events not sent after an erasure or a withdrawal; payload cleared).
 */
const WEBHOOK_FINISHED = ['delivered', 'dead', 'withheld'] satisfies DeliveryState[];
/**
 * The cursors that read `device_events`: an event goes only once every one of them has passed
 * it. A relay never reads below its cursor, so it sees no hole; ids are never reused (SQLite
 * AUTOINCREMENT, PostgreSQL serial), so none comes back below a cursor either.
 */
const DEVICE_EVENT_READERS = [DEVICE_EVENTS_CURSOR] as const;

/** One bounded batch: the ids read, and how many of them were still finished and deleted. */
type BatchOutcome = { seen: number; deleted: number };
type BatchPruner = (db: Kysely<Schema>, cutoffMs: number, limit: number) => Promise<BatchOutcome>;

/*
 * Each batch reads the ids first and then deletes them by primary key, checking every condition
 * again in the DELETE: the scan for old rows runs outside SQLite's write lock (a Kysely SELECT
 * does not take the write gate), and a row that changed in between (a dead letter retried, a
 * cursor wound back by hand) is left alone. On PostgreSQL a DELETE meeting a row being updated
 * waits for that commit and checks its conditions on the row as it then is.
 */

/** A finished e-mail delivery last changed before the cutoff; a row a sender holds is never one. */
const emailFinishedBefore = (cutoffMs: number) => (eb: ExpressionBuilder<Schema, 'email_deliveries'>) =>
  eb.and([eb('state', 'in', EMAIL_FINISHED), eb('claimed_by', 'is', null), eb('updated_ms', '<', cutoffMs)]);

const webhookFinishedBefore = (cutoffMs: number) => (eb: ExpressionBuilder<Schema, 'webhook_deliveries'>) =>
  eb.and([eb('state', 'in', WEBHOOK_FINISHED), eb('updated_ms', '<', cutoffMs)]);

/**
 * The scans that find a batch, exported for migration 0020's test: its (state, updated_ms)
 * indexes make them a search of the old rows. Scanning the whole table instead held the event
 * loop (better-sqlite3 is synchronous) for ~0.2-0.4 s an hour with 300,000 rows in each table.
 */
export const oldFinishedIds = {
  email_deliveries: (db: Kysely<Schema>, cutoffMs: number, limit: number) =>
    db.selectFrom('email_deliveries').select('id').where(emailFinishedBefore(cutoffMs)).limit(limit),
  webhook_deliveries: (db: Kysely<Schema>, cutoffMs: number, limit: number) =>
    db.selectFrom('webhook_deliveries').select('id').where(webhookFinishedBefore(cutoffMs)).limit(limit),
};

const pruneEmailBatch: BatchPruner = async (db, cutoffMs, limit) => {
  const rows = await oldFinishedIds.email_deliveries(db, cutoffMs, limit).execute();
  if (rows.length === 0) return { seen: 0, deleted: 0 };
  const r = await db
    .deleteFrom('email_deliveries')
    .where(
      'id',
      'in',
      rows.map((row) => row.id),
    )
    .where(emailFinishedBefore(cutoffMs))
    .executeTakeFirst();
  return { seen: rows.length, deleted: Number(r.numDeletedRows) };
};

const pruneWebhookBatch: BatchPruner = async (db, cutoffMs, limit) => {
  const rows = await oldFinishedIds.webhook_deliveries(db, cutoffMs, limit).execute();
  if (rows.length === 0) return { seen: 0, deleted: 0 };
  const r = await db
    .deleteFrom('webhook_deliveries')
    .where(
      'id',
      'in',
      rows.map((row) => row.id),
    )
    .where(webhookFinishedBefore(cutoffMs))
    .executeTakeFirst();
  return { seen: rows.length, deleted: Number(r.numDeletedRows) };
};

const pruneDeviceEventBatch: BatchPruner = async (db, cutoffMs, limit) => {
  // A missing cursor row reads as NULL, which no id is at or below: nothing goes.
  const cursorOf = (name: string) =>
    db.selectFrom('outbox_cursors').select('last_id').where('name', '=', name);
  let ids = db.selectFrom('device_events').select('id').where('at', '<', cutoffMs);
  for (const name of DEVICE_EVENT_READERS) ids = ids.where('id', '<=', cursorOf(name));
  const rows = await ids.orderBy('id').limit(limit).execute();
  if (rows.length === 0) return { seen: 0, deleted: 0 };
  let doomed = db
    .deleteFrom('device_events')
    .where(
      'id',
      'in',
      rows.map((row) => Number(row.id)),
    )
    .where('at', '<', cutoffMs);
  for (const name of DEVICE_EVENT_READERS) doomed = doomed.where('id', '<=', cursorOf(name));
  const r = await doomed.executeTakeFirst();
  return { seen: rows.length, deleted: Number(r.numDeletedRows) };
};

const TABLES: ReadonlyArray<readonly [OutboxTable, BatchPruner]> = [
  ['email_deliveries', pruneEmailBatch],
  ['webhook_deliveries', pruneWebhookBatch],
  ['device_events', pruneDeviceEventBatch],
];

export interface OutboxRetentionOptions {
  db: Kysely<Schema>;
  /** VIGIL_NOTIFY_RETENTION_DAYS: how long a finished row is kept, from when it finished. */
  retentionDays: number;
  registry: Registry;
  log: Logger;
  intervalMs?: number;
  firstPassAfterMs?: number;
  batchRows?: number;
  now?: () => number;
}

/**
 * Deletes the notification rows nobody needs any more, so that the durable outboxes do not grow
 * without bound: e-mail deliveries sent or given up, webhook deliveries delivered or dead (the
 * dead-letter list included), both counted from their last change (`updated_ms`), and device
 * events every relay cursor has passed, counted from the event (`at`). It runs once shortly
 * after start and then every hour, in batches, and never touches a pending row.
 *
 * Pruning also ends the dedup the e-mail queue's unique (event, kind) gives a cursor wound back
 * by hand: wound back past the retention, it would queue those notices again.
 */
export class OutboxRetention {
  private readonly pruned: Counter<'table'>;
  private readonly now: () => number;
  private readonly timers: NodeJS.Timeout[] = [];
  /** The passes run one after another on this chain; stop() waits for its end. */
  private chain: Promise<unknown> = Promise.resolve();
  private passesWaiting = 0;
  private isStopped = false;

  constructor(private readonly opts: OutboxRetentionOptions) {
    this.now = opts.now ?? Date.now;
    this.pruned = new Counter({
      name: 'vigil_outbox_pruned_total',
      help: 'Finished notification rows deleted past their retention (VIGIL_NOTIFY_RETENTION_DAYS), by table',
      labelNames: ['table'],
      registers: [opts.registry],
    });
    // Every table shows from the start, at 0, so a dashboard can tell "none yet" from "not running".
    for (const [table] of TABLES) this.pruned.inc({ table }, 0);
  }

  start(): void {
    if (this.isStopped || this.timers.length > 0) return;
    const tick = () => {
      // An hour is plenty for a pass; should one still be running, this tick is not needed.
      if (this.passesWaiting > 0 || this.isStopped) return;
      this.pruneNow().catch((err: unknown) =>
        this.opts.log.error({ err }, 'pruning old notification rows failed; tried again at the next pass'),
      );
    };
    this.timers.push(
      setTimeout(tick, this.opts.firstPassAfterMs ?? FIRST_PRUNE_AFTER_MS).unref(),
      setInterval(tick, this.opts.intervalMs ?? PRUNE_INTERVAL_MS).unref(),
    );
  }

  /** Runs a pass, after the one in progress if any; resolves with what it deleted. */
  pruneNow(): Promise<PrunedCounts> {
    this.passesWaiting += 1;
    const pass = this.chain.then(() => this.pass());
    this.chain = pass
      .catch(() => undefined)
      .finally(() => {
        this.passesWaiting -= 1;
      });
    return pass;
  }

  /** Stops the timers and waits for the pass in progress, which ends after its current batch. */
  async stop(): Promise<void> {
    this.isStopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    while (this.passesWaiting > 0) await this.chain;
  }

  private async pass(): Promise<PrunedCounts> {
    const counts: PrunedCounts = { email_deliveries: 0, webhook_deliveries: 0, device_events: 0 };
    const cutoffMs = this.now() - this.opts.retentionDays * DAY_MS;
    const limit = this.opts.batchRows ?? PRUNE_BATCH_ROWS;
    for (const [table, pruneBatch] of TABLES) {
      while (!this.isStopped) {
        const { seen, deleted } = await pruneBatch(this.opts.db, cutoffMs, limit);
        counts[table] += deleted;
        this.pruned.inc({ table }, deleted);
        // A short batch was the last; none deleted means the rest changed under us.
        if (seen < limit || deleted === 0) break;
        // The ingest writer and the event loop get their turn between batches.
        await nextTurn();
      }
    }
    if (counts.email_deliveries + counts.webhook_deliveries + counts.device_events > 0) {
      this.opts.log.info(
        { pruned: counts, retentionDays: this.opts.retentionDays },
        'notification rows past their retention pruned',
      );
    }
    return counts;
  }
}
