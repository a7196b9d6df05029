import type { Logger } from 'pino';

export interface LogSamplerOptions {
  /** Where the "n more not logged" summaries go. */
  log: Logger;
  /** What is being sampled, for the summary line ("MQTT refusals"). */
  what: string;
  /** Lines let through per key and window. */
  perWindow?: number;
  windowMs?: number;
  now?: () => number;
}

interface Window {
  startMs: number;
  logged: number;
  suppressed: number;
}

/** Keys beyond this many share one window, so a caller keying on input cannot grow the map. */
const MAX_KEYS = 1_000;
const OVERFLOW_KEY = '(other)';

/**
 * Lets the first few log lines of a kind through in each window and counts the rest, then
 * writes one line saying how many were left out. A refusal costs the sender one packet and us
 * one log line: unsampled, a device or scanner sending garbage fills the disk with lines that
 * say nothing new. Every refusal is still counted in /metrics and stored as a security event
 * (both bounded); only the log is thinned.
 */
export class LogSampler {
  private readonly windows = new Map<string, Window>();
  private readonly perWindow: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: LogSamplerOptions) {
    this.perWindow = opts.perWindow ?? 20;
    this.windowMs = opts.windowMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** Whether a line of this kind may be written now; false counts it as left out. */
  admit(key: string): boolean {
    const nowMs = this.now();
    const k = this.windows.has(key) || this.windows.size < MAX_KEYS ? key : OVERFLOW_KEY;
    let w = this.windows.get(k);
    if (w !== undefined && nowMs - w.startMs >= this.windowMs) {
      this.report(k, w);
      w = undefined;
    }
    if (w === undefined) {
      w = { startMs: nowMs, logged: 0, suppressed: 0 };
      this.windows.set(k, w);
    }
    if (w.logged < this.perWindow) {
      w.logged += 1;
      return true;
    }
    w.suppressed += 1;
    this.schedule();
    return false;
  }

  /** Reports every window that has ended, and forgets it. */
  flush(): void {
    const nowMs = this.now();
    for (const [key, w] of this.windows) {
      if (nowMs - w.startMs < this.windowMs) continue;
      this.report(key, w);
      this.windows.delete(key);
    }
    if (this.timer !== undefined && !this.isHoldingBack()) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Reports what is left out so far, ended windows or not: nothing goes unsaid at shutdown. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const [key, w] of this.windows) this.report(key, w);
    this.windows.clear();
  }

  private report(key: string, w: Window): void {
    if (w.suppressed === 0) return;
    this.opts.log.warn(
      { key, suppressed: w.suppressed, windowSeconds: Math.round(this.windowMs / 1000) },
      `${this.opts.what}: ${w.suppressed} more like this not logged (all are counted in /metrics)`,
    );
  }

  /** One timer for the earliest window to end; it re-arms while anything is still held back. */
  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
      if (this.isHoldingBack()) this.schedule();
    }, this.windowMs).unref();
  }

  private isHoldingBack(): boolean {
    for (const w of this.windows.values()) if (w.suppressed > 0) return true;
    return false;
  }
}
