/**
 * Group commit: callers submit items and get a promise that settles when the transaction that
 * carried their item has committed. One fsync then covers every message that arrived while the
 * previous commit was running, which is what lets durable acknowledgement keep up with load.
 * The batch window adapts by itself: a slow commit lets the next batch grow.
 */
export interface GroupCommitOptions<T> {
  /** Writes the whole batch in one transaction; throws to fail every item in it. */
  commit(items: T[]): void | Promise<void>;
  /** Extra wait to gather a batch when the queue was idle (ms). */
  windowMs: number;
  maxBatch: number;
  onCommitted?(items: T[], durationMs: number): void;
}

interface Pending<T> {
  item: T;
  resolve(): void;
  reject(e: unknown): void;
}

export class GroupCommitter<T> {
  private queue: Pending<T>[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private idle: Array<() => void> = [];

  constructor(private readonly opts: GroupCommitOptions<T>) {}

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

  private schedule(): void {
    if (this.running) return;
    if (this.queue.length >= this.opts.maxBatch || this.opts.windowMs === 0) {
      this.clearTimer();
      setImmediate(() => void this.drain());
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.drain();
      }, this.opts.windowMs);
    }
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.opts.maxBatch);
        const started = performance.now();
        try {
          await this.opts.commit(batch.map((p) => p.item));
        } catch (e) {
          for (const p of batch) p.reject(e);
          continue;
        }
        this.opts.onCommitted?.(
          batch.map((p) => p.item),
          performance.now() - started,
        );
        for (const p of batch) p.resolve();
        // Let the event loop read more input so the next batch is gathered while we were busy.
        await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      this.running = false;
      for (const done of this.idle.splice(0)) done();
    }
  }

  /** Commits everything queued, then refuses new items. */
  async close(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    if (this.running) await new Promise<void>((r) => this.idle.push(r));
    if (this.queue.length > 0) await this.drain();
  }
}
