/**
 * Refused enrolment attempts per source (renewals: per device), counted in fixed windows. Every
 * refused enrolment writes a signed, hash-chained audit entry and anyone may send one, so
 * without a bound one client grows the audit trail as fast as it can send. Tokens are random
 * enough that guessing is not the concern here (sign-in's exponential lockout,
 * access/login-throttle.ts, is for that); the flood is, so a plain rate suffices and a source
 * is free again once its window ends.
 *
 * The approach is sign-in's: an attempt is counted when it arrives, before the token or CSR is
 * looked at, and a success takes its count back (`release`). Attempts sent together then
 * cannot all pass a check that the refusals of the others have not reached yet; the price is
 * that attempts in flight count too, so one source gets at most `refusalsPerWindow` enrolments
 * at once. Unlike sign-in's, the counts live in memory, not the store: a paused source costs a
 * map lookup rather than a write transaction, and the counts need no sweeping from the store.
 * With several Vigil processes each keeps its own counts, so the bound is per process.
 */
export interface EnrollThrottlePolicy {
  /** Refused (or still undecided) attempts a key may make in one window. */
  refusalsPerWindow: number;
  windowMs: number;
  /**
   * Keys counted at once. When a spray of source addresses fills the map, further new keys
   * share one overflow window, so memory stays bounded and the spray is held, not waved through.
   */
  maxKeys: number;
}

export const DEFAULT_ENROLL_THROTTLE: Readonly<EnrollThrottlePolicy> = Object.freeze({
  refusalsPerWindow: 10,
  windowMs: 60_000,
  maxKeys: 10_000,
});

/** The key every new source shares while the map is full. */
export const OVERFLOW_KEY = 'overflow';

/** One key's window: attempts counted in it (taken back on success), and attempts turned away. */
export interface ThrottleWindow {
  readonly startMs: number;
  attempts: number;
  refused: number;
}

/** An attempt counted against a key; `release` it if it turns out to be a success. */
export interface EnrollAttempt {
  readonly key: string;
  readonly window: ThrottleWindow;
  isReleased: boolean;
}

export type ThrottleAnswer =
  | { attempt: EnrollAttempt }
  | {
      /** The key that is paused: the one asked for, or OVERFLOW_KEY. */
      key: string;
      retryAfterMs: number;
      /** The first attempt turned away in this window: the one to audit. */
      isFirstRefusal: boolean;
    };

export class EnrollThrottle {
  /** In order of window start, so ended windows are swept from the front. */
  private readonly windows = new Map<string, ThrottleWindow>();
  private overflow: ThrottleWindow | undefined;

  constructor(
    readonly policy: Readonly<EnrollThrottlePolicy> = DEFAULT_ENROLL_THROTTLE,
    // Monotonic: a step of the wall clock must neither lift a pause nor stretch one.
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Counts an attempt for `key` before any work is done for it, or turns it away. */
  claim(key: string): ThrottleAnswer {
    const nowMs = this.now();
    this.sweep(nowMs);
    let counted = key;
    let window = this.windows.get(key);
    if (window && this.hasEnded(window, nowMs)) {
      this.windows.delete(key);
      window = undefined;
    }
    if (!window) {
      if (this.windows.size < this.policy.maxKeys) {
        window = { startMs: nowMs, attempts: 0, refused: 0 };
        this.windows.set(key, window);
      } else {
        counted = OVERFLOW_KEY;
        if (!this.overflow || this.hasEnded(this.overflow, nowMs))
          this.overflow = { startMs: nowMs, attempts: 0, refused: 0 };
        window = this.overflow;
      }
    }
    if (window.attempts >= this.policy.refusalsPerWindow) {
      window.refused++;
      return {
        key: counted,
        retryAfterMs: window.startMs + this.policy.windowMs - nowMs,
        isFirstRefusal: window.refused === 1,
      };
    }
    window.attempts++;
    return { attempt: { key: counted, window, isReleased: false } };
  }

  /** Takes back an attempt that succeeded, once; a window that has ended since is gone anyway. */
  release(attempt: EnrollAttempt): void {
    if (attempt.isReleased) return;
    attempt.isReleased = true;
    attempt.window.attempts--;
  }

  /** Keys currently counted (for tests and the bound on memory). */
  get size(): number {
    return this.windows.size;
  }

  private hasEnded(window: ThrottleWindow, nowMs: number): boolean {
    return nowMs - window.startMs >= this.policy.windowMs;
  }

  /** Forgets ended windows; each is visited once, so a claim costs O(1) amortised. */
  private sweep(nowMs: number): void {
    for (const [key, window] of this.windows) {
      if (!this.hasEnded(window, nowMs)) return;
      this.windows.delete(key);
    }
  }
}
