/**
 * Group commit: callers submit items and get a promise that settles when the transaction that
 * carried their item has committed. One fsync then covers every message that arrived while the
 * previous commit was running, which is what lets durable acknowledgement keep up with load.
 * The batch window adapts by itself: a slow commit lets the next batch grow.
 *
 * With `maxInFlight` above 1 the next batch is handed over while earlier ones are still being
 * committed (once per turn of the event loop), for a committer that queues batches and gathers
 * them into its next transaction itself (the ingest writer thread): it starts that transaction
 * the moment the previous one ends instead of waiting for this thread to notice and send more.
 */
export interface GroupCommitOptions<T> {
  /** Writes the whole batch (in one transaction, or with batches handed over before it); throws to fail all of it. */
  commit(items: T[]): void | Promise<void>;
  /** Extra wait to gather a batch when nothing is being committed (ms). */
  windowMs: number;
  maxBatch: number;
  /** Batches handed to `commit` and not yet settled, at most (default 1: one after the other). */
  maxInFlight?: number;
}

interface Pending<T> {
  item: T;
  resolve(): void;
  reject(e: unknown): void;
}

export class GroupCommitter<T> {
  private queue: Pending<T>[] = [];
  private inFlight = 0;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private idle: Array<() => void> = [];
  private readonly maxInFlight: number;

  constructor(private readonly opts: GroupCommitOptions<T>) {
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 1);
  }

  submit(item: T): Promise<void> {
    if (this.closed) return Promise.reject(new Error('group committer is closed'));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  get queued(): number {
    return this.queue.length;
  }

  /** `now`: skip the idle window (a commit just ended and items are waiting). */
  private schedule(now = false): void {
    if (this.scheduled || this.queue.length === 0 || this.inFlight >= this.maxInFlight) return;
    const idle = this.inFlight === 0 && !now;
    if (idle && this.opts.windowMs > 0 && this.queue.length < this.opts.maxBatch) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.opts.windowMs);
      return;
    }
    this.clearTimer();
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      this.flush();
    };
    // Nothing being committed: go once this callback's input is parsed. Otherwise wait for the
    // rest of this turn's input, so a turn's messages travel as one batch.
    if (idle) queueMicrotask(go);
    else setImmediate(go);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private flush(): void {
    if (this.queue.length === 0 || this.inFlight >= this.maxInFlight) return;
    void this.run(this.queue.splice(0, this.opts.maxBatch));
    // More than one batch's worth, or handed over early: the rest goes on the next turn.
    this.schedule(true);
  }

  private async run(batch: Pending<T>[]): Promise<void> {
    this.inFlight += 1;
    try {
      await this.opts.commit(batch.map((p) => p.item));
      for (const p of batch) p.resolve();
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
    this.inFlight -= 1;
    // Let the event loop read more input first, so the next batch holds what came meanwhile.
    this.schedule(true);
    if (this.queue.length === 0 && this.inFlight === 0) for (const done of this.idle.splice(0)) done();
  }

  /** Commits everything queued, then refuses new items. */
  async close(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    this.schedule(true);
    if (this.queue.length > 0 || this.inFlight > 0) await new Promise<void>((r) => this.idle.push(r));
  }
}
