import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Schema } from '../store/schema.ts';
import type { OutboxCursors } from './outbox-cursors.store.ts';
import { StoreBackoff } from './store-backoff.ts';

const BATCH_EVENTS = 200;
/**
 * How long a hole in the event ids is waited on before the relay moves past it. An id is taken
 * when its insert starts and becomes visible when its transaction commits, so with several
 * writers (processes on one PostgreSQL database) a higher id can be seen first; passing the
 * hole at once would skip the lower one for good. A hole that stays is an id whose transaction
 * rolled back, or an event deleted before it was relayed.
 */
export const GAP_WAIT_MS = 5_000;

/** How often and how much a relay reads; tests turn these. */
export interface OutboxRelayTuning {
  /** The backstop: a pass this often even when nobody kicks (events written by another process). */
  pollMs?: number | undefined;
  gapWaitMs?: number | undefined;
  batchEvents?: number | undefined;
  storeRetryBaseMs?: number | undefined;
  now?: () => number;
  random?: () => number;
}

export interface OutboxRelayOptions extends OutboxRelayTuning {
  cursors: OutboxCursors;
  /** The relay's row in outbox_cursors. */
  cursor: string;
  /** For log lines: what the events are ('alert event') and where they go ('webhooks'). */
  eventName: string;
  destination: string;
  log: Logger;
}

/**
 * The relay of a transactional outbox: it tails an event table past its cursor in id order and
 * hands each batch on (subclasses: alert-outbox.ts, device-events-outbox.ts) in the transaction
 * that moves the cursor by compare-and-set. A crash between an event and what it leads to loses
 * nothing (the next start catches up) and repeats nothing (the cursor moved with it), and
 * several relays on one database hand each event on once.
 *
 * Ids need not commit in order (several processes on one PostgreSQL database): the relay stops
 * at a hole in the ids and moves past it only when it has stayed GAP_WAIT_MS.
 */
export abstract class OutboxRelay<E extends { id: number }> {
  protected readonly now: () => number;
  private readonly backoff: StoreBackoff;
  private timer: NodeJS.Timeout | undefined;
  /** The pass in progress: one at a time, so two passes never race for one cursor here. */
  private running: Promise<void> | undefined;
  private again = false;
  private isStarted = false;
  private isStopped = false;
  /** The hole the relay is waiting on: after which cursor position, and since when. */
  private gap: { afterId: number; sinceMs: number; timer: NodeJS.Timeout } | undefined;

  constructor(private readonly relayOptions: OutboxRelayOptions) {
    this.now = relayOptions.now ?? Date.now;
    this.backoff = new StoreBackoff({
      log: relayOptions.log,
      baseMs: relayOptions.storeRetryBaseMs,
      now: this.now,
      random: relayOptions.random ?? Math.random,
      wake: () => this.kick(),
    });
  }

  /** The events after `afterId`, in id order, at most `limit`. */
  protected abstract read(afterId: number, limit: number): Promise<readonly E[]>;

  /**
   * Hands the events on, moving the cursor from `from` past the last of them with moveCursor;
   * resolves with whether it moved (false: another relay took these events first).
   */
  protected abstract handOn(from: number, events: readonly E[]): Promise<boolean>;

  /** Moves the cursor from `from` to `to` and runs `work` in the same transaction (OutboxCursors.advance). */
  protected moveCursor(
    from: number,
    to: number,
    work: (tx: Kysely<Schema>) => Promise<unknown>,
  ): Promise<boolean> {
    return this.relayOptions.cursors.advance(this.relayOptions.cursor, from, to, work);
  }

  /** Catches up on what a previous run left (a crash), then follows kicks and the poll. */
  start(): void {
    if (this.isStarted || this.isStopped) return;
    this.isStarted = true;
    this.timer = setInterval(() => this.kick(), this.relayOptions.pollMs ?? 1000);
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
    const { eventName, destination } = this.relayOptions;
    this.running = this.drain()
      .then(() => this.backoff.answered(`${eventName}s are relayed to ${destination} again`))
      .catch((err: unknown) => this.backoff.failed(err, `${eventName}s not relayed to ${destination}`))
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
    const batchEvents = this.relayOptions.batchEvents ?? BATCH_EVENTS;
    for (;;) {
      const from = await this.relayOptions.cursors.position(this.relayOptions.cursor);
      const read = await this.read(from, batchEvents);
      const events = this.upToHole(from, read);
      if (events.length === 0) return;
      const isMoved = await this.handOn(from, events);
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
  private upToHole(from: number, read: readonly E[]): readonly E[] {
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
    const waitMs = this.relayOptions.gapWaitMs ?? GAP_WAIT_MS;
    if (this.gap?.afterId !== from) {
      if (this.gap) clearTimeout(this.gap.timer);
      const timer = setTimeout(() => this.kick(), waitMs).unref();
      this.gap = { afterId: from, sinceMs: nowMs, timer };
    }
    if (nowMs - this.gap.sinceMs < waitMs) return [];
    this.relayOptions.log.warn(
      { afterId: from, nextId: first.id, waitedMs: nowMs - this.gap.sinceMs },
      `${this.relayOptions.eventName} ids skipped: no event came for them; relaying on`,
    );
    clearTimeout(this.gap.timer);
    this.gap = undefined;
    return contiguous(first.id);
  }
}
