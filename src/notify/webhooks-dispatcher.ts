import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { DisclosureDeps } from './disclosable-alert-steps.ts';
import { StoreBackoff } from './store-backoff.ts';
import type { Delivery, WebhookStore } from './webhooks.store.ts';
import { type SendResult, sendWebhook } from './webhooks-sender.ts';
import { signWebhook } from './webhooks-signature.ts';

export interface DispatcherOptions {
  store: WebhookStore;
  registry: Registry;
  log: Logger;
  allowLoopbackHttp: boolean;
  /** Per attempt, connect to last byte. */
  timeoutMs?: number;
  /** Attempts before a delivery is dead-lettered. */
  maxAttempts?: number;
  /** The first retry waits about this long; each next one twice as long. */
  retryBaseMs?: number;
  /** At most this many requests in flight, so a slow receiver cannot take every socket. */
  concurrency?: number;
  pollMs?: number;
  /**
   * After a store error (queue unreadable, outcome not recorded) the store is next asked after
   * about this long; each further consecutive error doubles it, up to a minute.
   */
  storeRetryBaseMs?: number;
  now?: () => number;
  random?: () => number;
  /** Called once a delivery is accepted by its receiver (the composition root audits it). */
  onDelivered?: (delivery: Delivery) => Promise<void>;
  /**
   * The check an alert delivery passes before every attempt, as an alert e-mail does before it
   * is sent (email-notifier.ts): the relay judged it when it queued the row, but a retry may
   * come after the patient was erased or withdrew consent.
   */
  disclosure: Pick<DisclosureDeps, 'alerts' | 'mayDisclose'>;
}

const MAX_DELAY_MS = 3_600_000;
/** A receiver asking for more than a day is treated as asking for a day. */
const MAX_RETRY_AFTER_MS = 86_400_000;
/**
 * Outcomes held in memory, waiting for the store to take them, beyond which nothing new is
 * sent: a store that records nothing should not have the whole queue sent meanwhile (each would
 * go out again after a restart), and the held ids are bound into the queue query.
 */
const MAX_HELD_OUTCOMES = 500;

type Outcome = 'delivered' | 'retry' | 'dead';
/** An attempt not made: the alert may no longer leave the system. */
const WITHHELD = Symbol('withheld');
type AttemptRecord = Parameters<WebhookStore['recordAttempt']>[1];

/** An attempt that was sent but whose outcome the store has not taken yet. */
interface HeldOutcome {
  delivery: Delivery;
  outcome: Outcome;
  record: AttemptRecord;
  /** When the attempt ended: the outcome is recorded as of then. */
  endedMs: number;
  failures: number;
  retryAtMs: number;
}

/**
 * Exponential backoff with jitter: attempt n (1-based) waits base·2^(n-1), capped at an hour,
 * scaled into [½, 1] at random so receivers coming back up are not hit by every sender at once;
 * a Retry-After from the receiver is honoured when it asks for longer.
 */
export function retryDelayMs(
  attempt: number,
  baseMs: number,
  random: number,
  retryAfterMs: number | null,
): number {
  const exp = Math.min(MAX_DELAY_MS, baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(exp / 2 + (random * exp) / 2);
  return retryAfterMs === null ? jittered : Math.max(jittered, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
}

/** 2xx: delivered; network error, 5xx, 429: try again; anything else (4xx, 3xx) will not get better. */
export function classify(r: SendResult): 'delivered' | 'retry' | 'failed' {
  if (r.status === null) return 'retry';
  if (r.status >= 200 && r.status < 300) return 'delivered';
  if (r.status >= 500 || r.status === 429) return 'retry';
  return 'failed';
}

/**
 * Works the durable queue: picks due deliveries, signs and sends each, and records the
 * outcome. Runs beside the alert engine, never in its way: publishing only inserts a row.
 * With several workers on one database a delivery may be sent twice; receivers drop repeats
 * by `webhook-id`, as the Standard Webhooks spec expects.
 */
export class WebhookDispatcher {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private readonly outcomes: Counter<'outcome'>;
  private timer: NodeJS.Timeout | undefined;
  private readonly backoff: StoreBackoff;
  private ticking = false;
  private again = false;
  private readonly now: () => number;
  /**
   * Sent, not yet recorded. Such a delivery is still pending and due in the table, and taken
   * from it again it would be re-sent at once, over and over (hammering the receiver, and on
   * SQLite, whose queries resolve without yielding, starving the process): it is kept out of
   * the queue query until its outcome is recorded, retried with backoff.
   */
  private readonly held = new Map<string, HeldOutcome>();

  constructor(private readonly opts: DispatcherOptions) {
    this.now = opts.now ?? Date.now;
    this.backoff = new StoreBackoff({
      log: opts.log,
      baseMs: opts.storeRetryBaseMs,
      now: this.now,
      random: opts.random ?? Math.random,
      wake: () => this.kick(),
    });
    this.outcomes = new Counter({
      name: 'vigil_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome (delivered, retry, dead, withheld)',
      labelNames: ['outcome'],
      registers: [opts.registry],
    });
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.opts.pollMs ?? 1000);
    this.kick();
  }

  /** Queues an event for every subscriber of its type and wakes the worker. */
  async publish(eventType: string, payload: string): Promise<void> {
    const nowMs = this.now();
    for (const w of await this.opts.store.subscribersOf(eventType)) {
      await this.opts.store.enqueue(w.id, eventType, payload, nowMs);
    }
    this.kick();
  }

  kick(): void {
    if (this.abort.signal.aborted) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = true;
    void this.fill()
      .catch((err: unknown) => this.opts.log.error({ err }, 'webhook queue read failed'))
      .finally(() => {
        this.ticking = false;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Stops taking work; requests in flight are cut and stay queued for the next start. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.backoff.stop();
    this.abort.abort();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private async fill(): Promise<void> {
    if (this.backoff.isPaused()) return;
    await this.recordHeld();
    const limit = this.opts.concurrency ?? 4;
    if (this.inFlight.size >= limit || this.held.size >= MAX_HELD_OUTCOMES) return;
    let due: Delivery[];
    try {
      due = await this.opts.store.due(this.now(), limit + this.inFlight.size, [...this.held.keys()]);
    } catch (err) {
      this.storeFailed(err, 'webhook queue unreadable');
      return;
    }
    this.storeAnswered();
    for (const d of due) {
      if (this.inFlight.size >= limit || this.abort.signal.aborted) break;
      if (this.inFlight.has(d.id) || this.held.has(d.id)) continue;
      const run = this.attempt(d)
        .catch((err: unknown) => this.opts.log.error({ err, delivery: d.id }, 'webhook attempt failed'))
        .finally(() => {
          this.inFlight.delete(d.id);
          this.kick();
        });
      this.inFlight.set(d.id, run);
    }
  }

  private async attempt(d: Delivery): Promise<void> {
    let result: SendResult | typeof WITHHELD;
    try {
      result = (await this.mayGoOut(d)) ? await this.send(d) : WITHHELD;
    } catch (err) {
      // A delivery that cannot even be prepared (secret unreadable, webhook row gone) counts as
      // a failed attempt: left pending and due, it was picked again at once, and on SQLite,
      // whose queries resolve without yielding, that loop starved the whole process.
      // The message only: an invalid-URL error carries the URL, which may hold a receiver's token.
      const error = err instanceof Error ? err.message : String(err);
      this.opts.log.error({ webhook: d.webhookId, delivery: d.id, error }, 'webhook delivery not prepared');
      result = { status: null, retryAfterMs: null, error };
    }
    // Cut short by stop(): not an attempt; the row stays due and goes out after the restart.
    if (this.abort.signal.aborted) return;
    if (result === WITHHELD) return this.withhold(d);
    const attempts = d.attempts + 1;
    const verdict = classify(result);
    const nowMs = this.now();
    const outcome =
      verdict === 'delivered'
        ? 'delivered'
        : verdict === 'retry' && attempts < (this.opts.maxAttempts ?? 8)
          ? 'retry'
          : 'dead';
    const error = result.error ?? (verdict === 'delivered' ? null : `answered ${result.status}`);
    const record: AttemptRecord = {
      state: outcome === 'retry' ? 'pending' : outcome,
      attempts,
      nextAttemptMs:
        outcome === 'retry'
          ? nowMs +
            retryDelayMs(
              attempts,
              this.opts.retryBaseMs ?? 5000,
              (this.opts.random ?? Math.random)(),
              result.retryAfterMs,
            )
          : nowMs,
      status: result.status,
      error,
    };
    try {
      await this.opts.store.recordAttempt(d.id, record, nowMs);
    } catch (err) {
      // Sent but not recorded: held, so that the still-due row is not sent again (see `held`).
      this.held.set(d.id, { delivery: d, outcome, record, endedMs: nowMs, failures: 0, retryAtMs: 0 });
      this.holdAgain(d.id);
      this.storeFailed(err, 'webhook attempt outcome not recorded; delivery held, not re-sent');
      return;
    }
    this.storeAnswered();
    await this.recorded(d, outcome, attempts, error);
  }

  /** Tries again to record each held outcome whose time has come. */
  private async recordHeld(): Promise<void> {
    for (const [id, h] of this.held) {
      if (h.retryAtMs > this.now()) continue;
      try {
        await this.opts.store.recordAttempt(id, h.record, h.endedMs);
      } catch (err) {
        this.holdAgain(id);
        this.storeFailed(err, 'webhook attempt outcome not recorded; delivery held, not re-sent');
        continue;
      }
      this.held.delete(id);
      this.storeAnswered();
      await this.recorded(h.delivery, h.outcome, h.record.attempts, h.record.error).catch((err: unknown) =>
        this.opts.log.error({ err, delivery: id }, 'webhook attempt failed'),
      );
    }
    const next = Math.min(...[...this.held.values()].map((h) => h.retryAtMs));
    if (Number.isFinite(next)) this.backoff.wakeAt(next);
  }

  private holdAgain(id: string): void {
    const h = this.held.get(id);
    if (!h) return;
    h.failures++;
    h.retryAtMs = this.now() + this.backoff.delayMs(h.failures);
  }

  /** What follows a recorded outcome: counted, audited when delivered, logged when dead. */
  private async recorded(
    d: Delivery,
    outcome: Outcome,
    attempts: number,
    error: string | null,
  ): Promise<void> {
    this.outcomes.inc({ outcome });
    if (outcome === 'delivered') await this.opts.onDelivered?.(d);
    if (outcome === 'dead') {
      // The URL may carry a receiver's token in its path: log the ids, not the URL.
      this.opts.log.warn(
        { webhook: d.webhookId, delivery: d.id, attempts, error },
        'webhook delivery dead-lettered',
      );
    }
  }

  /** A store error: the queue waits longer after each one in a row (see StoreBackoff). */
  private storeFailed(err: unknown, message: string): void {
    this.backoff.failed(err, message, { held: this.held.size });
  }

  /** The store answered; the episode is over once no outcome is held. */
  private storeAnswered(): void {
    this.backoff.answered('webhook store recovered; every attempt outcome is recorded', this.held.size === 0);
  }

  /**
   * Whether the delivery may still leave: an alert event only while its alert is readable (not
   * gone, its patient not erased) and the patient's consent lets alerts out, the e-mail's check.
   */
  private async mayGoOut(d: Delivery): Promise<boolean> {
    const check = this.opts.disclosure;
    if (!d.eventType.startsWith('alert.')) return true;
    const { data } = JSON.parse(d.payload) as { data?: { alertId?: unknown } };
    if (typeof data?.alertId !== 'string') return false;
    const alert = (await check.alerts.withoutValues([data.alertId])).get(data.alertId);
    return alert !== undefined && (await check.mayDisclose(alert.patientId));
  }

  /**
   * Marks the delivery withheld instead of sending it. A store error leaves it pending: the
   * next pass asks again, and the check keeps it from going out meanwhile.
   */
  private async withhold(d: Delivery): Promise<void> {
    try {
      await this.opts.store.withhold(d.id, this.now());
    } catch (err) {
      this.storeFailed(err, 'webhook delivery not marked withheld');
      return;
    }
    this.storeAnswered();
    this.outcomes.inc({ outcome: 'withheld' });
    this.opts.log.info(
      { webhook: d.webhookId, delivery: d.id, event: d.eventType },
      'alert webhook not sent: it may no longer be disclosed',
    );
  }

  /** Signs and sends one attempt; throws when the delivery cannot be prepared. */
  private async send(d: Delivery): Promise<SendResult> {
    const { store } = this.opts;
    const webhook = await store.get(d.webhookId);
    const timestamp = Math.floor(this.now() / 1000);
    const headers = {
      'webhook-id': d.id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(await store.secret(webhook.id), d.id, timestamp, d.payload),
    };
    return sendWebhook(webhook.url, headers, d.payload, {
      timeoutMs: this.opts.timeoutMs ?? 10_000,
      allowLoopback: this.opts.allowLoopbackHttp,
      signal: this.abort.signal,
    });
  }
}
