import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { AlertStore, LoggedAlertEvent } from '../clinical/alerts/alerts.store.ts';
import type { OutboxCursors } from './outbox-cursors.store.ts';
import { StoreBackoff } from './store-backoff.ts';
import type { WebhookEventToQueue, WebhookStore } from './webhooks.store.ts';
import { alertEventType, alertPayload, alertStateAfter } from './webhooks-events.ts';

/** The relay's row in outbox_cursors, as migration 0015 names it. */
export const WEBHOOK_ALERT_EVENTS_CURSOR = 'webhook-alert-events';
const BATCH_EVENTS = 200;
/**
 * How long a hole in the event ids is waited on before the relay moves past it. An id is taken
 * when its insert starts and becomes visible when its transaction commits, so with several
 * writers (processes on one PostgreSQL database) a higher id can be seen first; passing the
 * hole at once would skip the lower one for good. A hole that stays is an id whose transaction
 * rolled back, or an event deleted before it was relayed.
 */
export const GAP_WAIT_MS = 5_000;

export interface AlertOutboxDeps {
  alerts: Pick<AlertStore, 'eventsAfter' | 'withoutValues'>;
  cursors: OutboxCursors;
  webhooks: Pick<WebhookStore, 'enqueueForSubscribers'>;
  /** Whether the patient's consent lets their alerts leave the system (see NotifyDeps). */
  mayDisclose(patientId: string): Promise<boolean>;
  /** Base of the links in payloads; known once the server listens. */
  publicUrl(): string;
  log: Logger;
  /** Called once a pass has queued deliveries: the dispatcher's kick. */
  onQueued(): void;
  /** The backstop: a pass this often even when nobody kicks (events written by another process). */
  pollMs?: number | undefined;
  gapWaitMs?: number | undefined;
  batchEvents?: number | undefined;
  storeRetryBaseMs?: number | undefined;
  now?: () => number;
  random?: () => number;
}

/**
 * The transactional outbox of alert webhooks. `alert_events` is written with every alert step;
 * the relay reads the events past its cursor in id order and queues their deliveries in the
 * transaction that moves the cursor, so a crash between an alert step and its delivery rows
 * loses nothing (the next start catches up) and repeats nothing (the cursor moved with them).
 * Id order is the engine's write order, so one alert's raise is queued before its resolve.
 *
 * A payload is built from the alert row as the relay finds it, with the event's type, the
 * event's time as its timestamp, and the state the step left the alert in. A relay running late
 * (after a restart) may thus send an alert.raised whose acknowledgedAt or escalationLevel
 * already tell of later steps; that is acceptable, as a payload only tells the receiver that
 * something needs attention and links to the alert, whose page shows it as it is now. Consent is
 * likewise judged when the relay runs, which is when the alert leaves the system.
 *
 * Ids need not commit in order (several processes on one PostgreSQL database): the relay stops
 * at a hole in the ids and moves past it only when it has stayed GAP_WAIT_MS.
 */
export class AlertOutboxRelay {
  private readonly backoff: StoreBackoff;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  /** The pass in progress: one at a time, so two passes never race for one cursor here. */
  private running: Promise<void> | undefined;
  private again = false;
  private isStarted = false;
  private isStopped = false;
  /** The hole the relay is waiting on: after which cursor position, and since when. */
  private gap: { afterId: number; sinceMs: number; timer: NodeJS.Timeout } | undefined;

  constructor(private readonly deps: AlertOutboxDeps) {
    this.now = deps.now ?? Date.now;
    this.backoff = new StoreBackoff({
      log: deps.log,
      baseMs: deps.storeRetryBaseMs,
      now: this.now,
      random: deps.random ?? Math.random,
      wake: () => this.kick(),
    });
  }

  /** Catches up on what a previous run left (a crash), then follows kicks and the poll. */
  start(): void {
    if (this.isStarted || this.isStopped) return;
    this.isStarted = true;
    this.timer = setInterval(() => this.kick(), this.deps.pollMs ?? 1000);
    this.kick();
  }

  /** Runs a pass now, or right after the one in progress; ignored before start and after stop. */
  kick(): void {
    if (!this.isStarted || this.isStopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.backoff.isPaused()) return;
    this.running = this.drain()
      .then(() => this.backoff.answered('alert events are relayed to webhooks again'))
      .catch((err: unknown) => this.backoff.failed(err, 'alert events not relayed to webhooks'))
      .finally(() => {
        this.running = undefined;
        if (!this.again) return;
        this.again = false;
        this.kick();
      });
  }

  /** Resolves once no pass is running or waiting to run. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops the poll and waits for the pass in progress; what is left is caught up at the next start. */
  async stop(): Promise<void> {
    this.isStopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.gap) clearTimeout(this.gap.timer);
    this.backoff.stop();
    await this.idle();
  }

  /** Batches until the cursor reaches the newest event. */
  private async drain(): Promise<void> {
    const batchEvents = this.deps.batchEvents ?? BATCH_EVENTS;
    for (;;) {
      const from = await this.deps.cursors.position(WEBHOOK_ALERT_EVENTS_CURSOR);
      const read = await this.deps.alerts.eventsAfter(from, batchEvents);
      const events = this.upToHole(from, read);
      const last = events.at(-1);
      if (!last) return;
      // Consent and the alert rows are read before the transaction: on SQLite, Kysely has one
      // connection, and a query outside the transaction would wait for it to end, forever.
      const toQueue = await this.announced(events);
      const nowMs = this.now();
      const isMoved = await this.deps.cursors.advance(WEBHOOK_ALERT_EVENTS_CURSOR, from, last.id, (tx) =>
        this.deps.webhooks.enqueueForSubscribers(tx, toQueue, nowMs),
      );
      if (isMoved && toQueue.length > 0) this.deps.onQueued();
      // Not moved: another relay on this database took these events; read on from where it got.
      if ((isMoved && read.length < batchEvents) || this.isStopped) return;
      // A long backlog must not hold the event loop: SQLite's queries resolve without yielding.
      await nextTurn();
    }
  }

  /**
   * The events read that follow the cursor without a hole. When the first one does not, none
   * until the hole has stayed GAP_WAIT_MS (a kick is set for then), and then the run after it.
   */
  private upToHole(from: number, read: readonly LoggedAlertEvent[]): readonly LoggedAlertEvent[] {
    const contiguous = (start: number) => {
      let n = 0;
      while (n < read.length && read[n]!.id === start + n) n += 1;
      return read.slice(0, n);
    };
    const first = read[0];
    if (first === undefined || first.id === from + 1) {
      if (this.gap) clearTimeout(this.gap.timer);
      this.gap = undefined;
      return contiguous(from + 1);
    }
    const nowMs = this.now();
    const waitMs = this.deps.gapWaitMs ?? GAP_WAIT_MS;
    if (this.gap?.afterId !== from) {
      if (this.gap) clearTimeout(this.gap.timer);
      const timer = setTimeout(() => this.kick(), waitMs).unref();
      this.gap = { afterId: from, sinceMs: nowMs, timer };
    }
    if (nowMs - this.gap.sinceMs < waitMs) return [];
    this.deps.log.warn(
      { afterId: from, nextId: first.id, waitedMs: nowMs - this.gap.sinceMs },
      'alert event ids skipped: no event came for them; relaying on',
    );
    clearTimeout(this.gap.timer);
    this.gap = undefined;
    return contiguous(first.id);
  }

  /** The events that go out: of a webhook type, of an alert still readable, with consent. */
  private async announced(events: readonly LoggedAlertEvent[]): Promise<WebhookEventToQueue[]> {
    const typed = events.flatMap((e) => {
      const type = alertEventType(e.action);
      return type ? [{ event: e, type }] : [];
    });
    const alerts = await this.deps.alerts.withoutValues([...new Set(typed.map((t) => t.event.alertId))]);
    const consent = new Map<string, boolean>();
    const out: WebhookEventToQueue[] = [];
    for (const { event, type } of typed) {
      // Gone, or its patient erased: nothing about it may leave any more.
      const alert = alerts.get(event.alertId);
      if (!alert) continue;
      let mayDisclose = consent.get(alert.patientId);
      if (mayDisclose === undefined) {
        mayDisclose = await this.deps.mayDisclose(alert.patientId);
        consent.set(alert.patientId, mayDisclose);
      }
      if (!mayDisclose) {
        this.deps.log.info(
          { alert: alert.id, action: event.action },
          'alert not announced: consent refuses disclosure of alerts',
        );
        continue;
      }
      const asThen = { ...alert, state: alertStateAfter(type) };
      out.push({ eventType: type, payload: alertPayload(asThen, type, this.deps.publicUrl(), event.ts) });
    }
    return out;
  }
}
