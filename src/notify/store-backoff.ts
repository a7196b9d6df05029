import type { Logger } from 'pino';

const MAX_STORE_DELAY_MS = 60_000;

export interface StoreBackoffOptions {
  log: Logger;
  /**
   * After a store error the store is next asked after about this long; each further
   * consecutive error doubles it, up to a minute.
   */
  baseMs?: number | undefined;
  now: () => number;
  random: () => number;
  /** Runs the owner's work again when a pause (or a time asked for with wakeAt) comes. */
  wake: () => void;
}

/**
 * How a background worker (the webhook dispatcher, the alert outbox relay) treats a failing
 * store (disk full, database gone or locked): it leaves the store alone for longer after each
 * error in a row rather than spinning on it, and logs the episode once when it begins and once
 * when it is over, not once per error.
 */
export class StoreBackoff {
  /** Store errors in a row (any success resets it); the store is not asked before `pausedUntilMs`. */
  private errors = 0;
  private pausedUntilMs = 0;
  private isFailing = false;
  private isStopped = false;
  private wake: { timer: NodeJS.Timeout; atMs: number } | undefined;

  constructor(private readonly opts: StoreBackoffOptions) {}

  /** Whether the store is to be left alone for now; if so, the owner is woken when the pause ends. */
  isPaused(): boolean {
    if (this.opts.now() >= this.pausedUntilMs) return false;
    this.wakeAt(this.pausedUntilMs);
    return true;
  }

  /** Exponential backoff with jitter, from baseMs and capped at a minute. */
  delayMs(errors: number): number {
    const full = Math.min(MAX_STORE_DELAY_MS, (this.opts.baseMs ?? 1000) * 2 ** Math.max(0, errors - 1));
    return Math.round(full / 2 + (this.opts.random() * full) / 2);
  }

  /** A store error: the pause grows with each one in a row; only the first is logged. */
  failed(err: unknown, message: string, context: Record<string, unknown> = {}): void {
    this.errors++;
    this.pausedUntilMs = this.opts.now() + this.delayMs(this.errors);
    this.wakeAt(this.pausedUntilMs);
    if (this.isFailing) return;
    this.isFailing = true;
    // The message only: a driver error may quote the statement, and a URL error the receiver's token.
    const error = err instanceof Error ? err.message : String(err);
    this.opts.log.error(
      { error, ...context },
      `${message}; the store is asked again with backoff, and this is not logged again until it recovers`,
    );
  }

  /**
   * The store answered: the backoff starts over. The episode is over, and `recovered` logged,
   * unless `isOver` is false (the dispatcher still holds outcomes the store has not taken).
   */
  answered(recovered: string, isOver = true): void {
    this.errors = 0;
    if (!this.isFailing || !isOver) return;
    this.isFailing = false;
    this.opts.log.info(recovered);
  }

  /** Wakes the owner at `atMs`: its poll interval may be far longer than a backoff. */
  wakeAt(atMs: number): void {
    if (this.isStopped || (this.wake && this.wake.atMs <= atMs)) return;
    if (this.wake) clearTimeout(this.wake.timer);
    const timer = setTimeout(
      () => {
        this.wake = undefined;
        this.opts.wake();
      },
      Math.max(0, atMs - this.opts.now()),
    );
    this.wake = { timer, atMs };
  }

  stop(): void {
    this.isStopped = true;
    if (this.wake) clearTimeout(this.wake.timer);
    this.wake = undefined;
  }
}
