import { parseStreamMessage, type StreamMessage } from './stream-messages.ts';

/** The part of the browser's WebSocket the stream uses (a fake in component tests). */
export interface SocketLike {
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(code?: number, reason?: string): void;
}

/**
 * `connecting`: first attempt; `live`: the server said hello; `stale`: live, but no frame (not
 * even a heartbeat) came for staleAfterMs; `reconnecting`: the socket closed, or stayed silent
 * for idleTimeoutMs, and another attempt is scheduled; `stopped`: the tab signed out or unmounted.
 */
export type StreamStatus = 'connecting' | 'live' | 'stale' | 'reconnecting' | 'stopped';

/**
 * The server sends a heartbeat frame every 15 s (src/notify/stream-messages.ts). One missed
 * heartbeat (plus a margin for a busy network) makes the stream stale; two missed and it is
 * given up and opened again: a hung server or a dead proxy leaves a socket open but silent,
 * and a browser sees no pings, so silence is the only sign.
 */
export const STALE_AFTER_MS = 20_000;
export const IDLE_TIMEOUT_MS = 35_000;

/**
 * A connection must stay up this long before the backoff starts afresh. A hello alone proves
 * little: a server that accepts and then closes at once (a slow consumer, 1013; a proxy that
 * drops upgrades) would otherwise be met again every second, and each reconnect re-reads every
 * open patient (audited REST reads and a stream.read entry per patient).
 */
export const STABLE_AFTER_MS = 60_000;

export interface LiveStreamOptions {
  url: string;
  open: (url: string) => SocketLike;
  onMessage: (m: StreamMessage) => void;
  onStatus?: (status: StreamStatus) => void;
  /** The server closed with 1008 (session ended, permission gone): the app asks who is signed in. */
  onPolicyClose?: (detail: string) => void;
  /** First retry after this long, doubling up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Up this long after its hello, a connection resets the backoff (default STABLE_AFTER_MS). */
  stableAfterMs?: number;
  /** No frame for this long: status `stale` (default STALE_AFTER_MS). */
  staleAfterMs?: number;
  /** No frame for this long, or no hello this long after opening: reconnect (default IDLE_TIMEOUT_MS). */
  idleTimeoutMs?: number;
  random?: () => number;
  setTimer?: (run: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

/** Close codes of the stream protocol. */
export const CLOSE_POLICY = 1008;
/** The server cut the stream off (a slow consumer): come back after the longest wait, not at once. */
export const CLOSE_TRY_LATER = 1013;

/**
 * One WebSocket to /api/v1/stream, reopened after every close with exponential backoff and
 * jitter (a restarted server is not met by every tab at the same instant). Frames that do not
 * parse are dropped and counted; they never reach the caches.
 */
export class LiveStream {
  private socket: SocketLike | null = null;
  private timer: unknown = null;
  private attempt = 0;
  private isStopped = false;
  private lastError = '';
  /** When the current socket said hello (Date.now()), null before it has. */
  private helloMs: number | null = null;
  /** When the socket last opened or brought a frame (Date.now()); the watchdog measures from it. */
  private activityMs = 0;
  private watchdog: ReturnType<typeof setTimeout> | null = null;
  status: StreamStatus = 'connecting';
  badFrames = 0;
  /** When the last valid frame arrived (any socket of this stream), null before the first. */
  lastFrameMs: number | null = null;

  constructor(private readonly opts: LiveStreamOptions) {}

  start(): void {
    this.isStopped = false;
    this.connect();
  }

  stop(): void {
    this.isStopped = true;
    this.cancelTimer();
    this.stopWatchdog();
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onclose = null;
      s.onmessage = null;
      s.close(1000, 'tab closed the stream');
    }
    this.setStatus('stopped');
  }

  /** The wait before attempt number `attempt` (0-based): doubling, capped, half of it random. */
  delayMs(attempt: number): number {
    const base = this.opts.baseDelayMs ?? 1000;
    const max = this.opts.maxDelayMs ?? 30_000;
    const full = Math.min(max, base * 2 ** Math.min(attempt, 20));
    return Math.round(full / 2 + (full / 2) * (this.opts.random ?? Math.random)());
  }

  private connect(): void {
    let socket: SocketLike;
    try {
      socket = this.opts.open(this.opts.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    this.helloMs = null;
    this.activityMs = Date.now();
    this.checkSilence();
    socket.onmessage = (ev) => this.receive(ev.data);
    socket.onerror = () => undefined; // a close event always follows; it decides what happens next
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.stopWatchdog();
      if (ev.code === CLOSE_POLICY) this.opts.onPolicyClose?.(this.lastError || ev.reason);
      this.scheduleRetry(ev.code === CLOSE_TRY_LATER);
    };
  }

  private receive(data: unknown): void {
    const m = parseStreamMessage(data);
    if (!m) {
      this.badFrames++;
      return;
    }
    this.activityMs = Date.now();
    this.lastFrameMs = this.activityMs;
    if (this.status === 'stale') this.setStatus('live');
    if (m.type === 'hello') {
      // The backoff is reset when this connection ends, if it stayed up long enough (see STABLE_AFTER_MS).
      this.helloMs = this.activityMs;
      this.setStatus('live');
    }
    if (m.type === 'error') this.lastError = `${m.code}: ${m.detail}`;
    this.opts.onMessage(m);
  }

  /**
   * The watchdog: one timer at a time, re-armed for what is left rather than reset on every
   * frame (a busy ward sends many). Silent past staleAfterMs: `stale`; past idleTimeoutMs (or
   * no hello by then): the socket is dropped without waiting for a closing handshake that a
   * hung server would never answer, and a new one is opened.
   */
  private checkSilence(): void {
    this.stopWatchdog();
    if (this.isStopped || !this.socket) return;
    const staleMs = this.opts.staleAfterMs ?? STALE_AFTER_MS;
    const idleMs = this.opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    const silentMs = Date.now() - this.activityMs;
    if (silentMs >= idleMs) {
      this.dropSilentSocket(silentMs);
      return;
    }
    if (silentMs >= staleMs && this.status === 'live') this.setStatus('stale');
    const waitMs = silentMs < staleMs ? staleMs - silentMs : idleMs - silentMs;
    this.watchdog = setTimeout(() => {
      this.watchdog = null;
      this.checkSilence();
    }, waitMs);
  }

  private dropSilentSocket(silentMs: number): void {
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onclose = null;
      s.onmessage = null;
      s.close(4000, `no frame for ${Math.round(silentMs / 1000)} s`);
    }
    this.scheduleRetry();
  }

  private stopWatchdog(): void {
    if (this.watchdog === null) return;
    clearTimeout(this.watchdog);
    this.watchdog = null;
  }

  /** `tryLater`: the server asked for it (1013); wait at least the capped delay. */
  private scheduleRetry(tryLater = false): void {
    if (this.isStopped) return;
    this.setStatus('reconnecting');
    const upMs = this.helloMs === null ? 0 : Date.now() - this.helloMs;
    this.helloMs = null;
    if (upMs >= (this.opts.stableAfterMs ?? STABLE_AFTER_MS)) this.attempt = 0;
    const maxMs = this.opts.maxDelayMs ?? 30_000;
    // Past the cap, jittered upwards, so the tabs a busy server cut off together do not return together.
    const ms = tryLater
      ? Math.round(maxMs + (maxMs / 2) * (this.opts.random ?? Math.random)())
      : this.delayMs(this.attempt);
    this.attempt++;
    const set = this.opts.setTimer ?? ((run: () => void, wait: number) => setTimeout(run, wait));
    this.timer = set(() => {
      this.timer = null;
      if (!this.isStopped) this.connect();
    }, ms);
  }

  private cancelTimer(): void {
    if (this.timer === null) return;
    const clear = this.opts.clearTimer ?? ((t: unknown) => clearTimeout(t as ReturnType<typeof setTimeout>));
    clear(this.timer);
    this.timer = null;
  }

  private setStatus(status: StreamStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.opts.onStatus?.(status);
  }
}

/** The stream's address on the page's own origin (the server checks Origin for cookie auth). */
export function streamUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/stream`;
}
