import type { WebSocket } from 'ws';
import type { Category } from '../access/consent.ts';
import { inScope, type PatientScope } from '../access/readable-patients.ts';
import type { Identity } from '../access/session-guard.ts';
import { type ErrorCode, isVigilError } from '../errors/catalogue.ts';
import { errorFrame } from './stream-messages.ts';
import type { StreamTopic } from './stream-query.ts';

/** What a connection needs from the hub: gate, audit, counters and limits. */
export interface ConnectionDeps {
  /** The patient gate's `readable` for one patient and category (care team, consent, break-glass). */
  mayRead(identity: Identity, patientId: string, category: Category): Promise<boolean>;
  /**
   * Every patient the caller may read in a category (the same answer as mayRead, for all at
   * once). A stream with no patient filter asks this once per decisionTtlMs and category
   * instead of asking mayRead for each patient of the hospital whose readings go by.
   */
  scope?(identity: Identity, category: Category): Promise<PatientScope>;
  /** Writes the one 'stream.read' audit entry for this connection and patient. */
  auditFirstDelivery(identity: Identity, patientId: string, source: string): Promise<void>;
  sent(topic: StreamTopic): void;
  closed(reason: string): void;
  onError(err: unknown): void;
  /** How long a gate decision holds before it is asked again. */
  decisionTtlMs: number;
  /** Bytes the socket may hold unsent before the client counts as too slow. */
  maxBufferedBytes: number;
  /** Frames that may wait for a gate decision or an audit write. */
  maxQueued: number;
}

export interface ConnectionInit {
  identity: Identity;
  topics: ReadonlySet<StreamTopic>;
  patients: ReadonlySet<string> | null;
  source: string;
  /** Authenticates the connection's credentials again: the session or token may have ended. */
  reauthenticate(): Promise<Identity>;
}

interface Frame {
  topic: StreamTopic;
  patientId: string | null;
  text: string;
}

/**
 * The consent category a frame discloses: a patient may deny alerts but allow readings, or
 * the other way round, so each topic is decided on its own.
 */
function categoryOf(topic: StreamTopic): Category {
  return topic === 'alerts' ? 'alerts' : 'vital-signs';
}

const decisionKey = (topic: StreamTopic, patientId: string) => `${categoryOf(topic)}:${patientId}`;

/** A client may send a few frames (the protocol needs none); past this it is closed. */
const MAX_IGNORED_CLIENT_FRAMES = 100;

/**
 * One live-stream client: its filters, its gate decisions (cached for `decisionTtlMs`, so a
 * revoked consent or a removed care-team link stops delivery within seconds), its audit
 * marks (one entry per patient per connection), and its backpressure. Frames go out in the
 * order they were offered; one that must wait for the gate holds back those behind it.
 */
export class StreamConnection {
  private readonly decisions = new Map<string, { isAllowed: boolean; checkedMs: number }>();
  private readonly scopes = new Map<Category, { scope: PatientScope; checkedMs: number }>();
  private readonly audited = new Set<string>();
  private readonly queue: Frame[] = [];
  private isDraining = false;
  private isClosed = false;
  private isAlive = true;
  private ignoredFrames = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly init: ConnectionInit,
    private readonly deps: ConnectionDeps,
  ) {
    ws.on('pong', () => {
      this.isAlive = true;
    });
    ws.on('message', () => {
      if (++this.ignoredFrames > MAX_IGNORED_CLIENT_FRAMES) this.close(1008, 'client-flood');
    });
    // A frame over the size limit or not valid WebSocket: `ws` closes (1009/1002), we count it.
    ws.on('error', () => this.markClosed('bad-frame'));
  }

  /** Who the stream was opened for (the hub ends a signed-out session's streams by it). */
  get identity(): Identity {
    return this.init.identity;
  }

  /** Whether a frame of this topic and patient passes the connection's own filters. */
  wants(topic: StreamTopic, patientId: string | null): boolean {
    if (this.isClosed || !this.init.topics.has(topic)) return false;
    return patientId === null || this.init.patients === null || this.init.patients.has(patientId);
  }

  /** Sends at once when nothing waits and the decision is fresh; else queues behind the rest. */
  offer(topic: StreamTopic, patientId: string | null, text: string): void {
    if (this.isClosed) return;
    if (this.queue.length === 0 && !this.isDraining) {
      const verdict = this.verdict(topic, patientId, Date.now());
      if (verdict === 'drop') return;
      if (verdict === 'send') {
        this.send(topic, text);
        return;
      }
    }
    if (this.queue.length >= this.deps.maxQueued) {
      this.close(1013, 'slow-consumer');
      return;
    }
    this.queue.push({ topic, patientId, text });
    if (!this.isDraining) void this.drain();
  }

  sendRaw(text: string): void {
    if (!this.isClosed) this.ws.send(text);
  }

  /** The keepalive tick: a client that did not answer the last ping is gone. */
  ping(): void {
    if (this.isClosed) return;
    if (!this.isAlive) {
      this.markClosed('no-pong');
      this.ws.terminate();
      return;
    }
    this.isAlive = false;
    this.ws.ping();
  }

  /** Ends the stream when the session or token behind it has ended or lost its role. */
  async recheck(): Promise<void> {
    if (this.isClosed) return;
    try {
      const now = await this.init.reauthenticate();
      if (now.role !== this.init.identity.role) {
        this.fail('VIGIL_ERR_AUTH_FORBIDDEN', 'the role behind this stream changed; reconnect');
      }
    } catch (e) {
      if (!isVigilError(e)) throw e;
      this.fail(e.code, e.detail);
    }
  }

  /** Tells the client why, then closes with 1008 (policy). */
  fail(code: ErrorCode, detail: string): void {
    if (this.isClosed) return;
    this.ws.send(errorFrame(code, detail));
    this.close(1008, 'auth');
  }

  close(code: number, reason: string): void {
    if (this.isClosed) return;
    this.markClosed(reason);
    this.ws.close(code, reason);
  }

  /** Drops the socket without a closing handshake (shutdown, after the grace period). */
  terminate(): void {
    this.markClosed('server-stop');
    this.ws.terminate();
  }

  /** The socket closed from the other side (or after our close): count it once. */
  closedByPeer(): void {
    this.markClosed('client');
  }

  /** Stops all delivery and counts the close once, under the first reason given. */
  private markClosed(reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.queue.length = 0;
    this.deps.closed(reason);
  }

  private verdict(topic: StreamTopic, patientId: string | null, nowMs: number): 'send' | 'drop' | 'wait' {
    if (patientId === null) return 'send';
    const d = this.decisions.get(decisionKey(topic, patientId));
    if (!d || nowMs - d.checkedMs > this.deps.decisionTtlMs) return 'wait';
    if (!d.isAllowed) return 'drop';
    return this.audited.has(patientId) ? 'send' : 'wait';
  }

  private send(topic: StreamTopic, text: string): void {
    // A client that cannot keep up is cut off, not buffered for without bound; it reconnects
    // and reloads what it missed through the REST API.
    if (this.ws.bufferedAmount > this.deps.maxBufferedBytes) {
      this.close(1013, 'slow-consumer');
      return;
    }
    this.ws.send(text);
    this.deps.sent(topic);
  }

  private async drain(): Promise<void> {
    this.isDraining = true;
    try {
      while (!this.isClosed && this.queue.length > 0) {
        const frame = this.queue[0]!;
        // The answer just given, not verdict(): a gate slower than decisionTtlMs leaves a stale
        // decision, which verdict() reads as 'wait' and would have let a refused frame through.
        const isAllowed = frame.patientId === null || (await this.decide(frame.topic, frame.patientId));
        if (this.isClosed) break;
        this.queue.shift();
        if (isAllowed) this.send(frame.topic, frame.text);
      }
    } catch (err) {
      // Without a gate decision or the audit entry, nothing more may be delivered.
      this.deps.onError(err);
      this.close(1011, 'error');
    } finally {
      this.isDraining = false;
    }
  }

  /** Whether the frame may go out: the gate (cached for decisionTtlMs) allows it and it is audited. */
  private async decide(topic: StreamTopic, patientId: string): Promise<boolean> {
    const nowMs = Date.now();
    const key = decisionKey(topic, patientId);
    const d = this.decisions.get(key);
    if (!d || nowMs - d.checkedMs > this.deps.decisionTtlMs) {
      const isAllowed = await this.judge(categoryOf(topic), patientId, nowMs);
      this.decisions.set(key, { isAllowed, checkedMs: nowMs });
      if (!isAllowed) return false;
    } else if (!d.isAllowed) return false;
    if (!this.audited.has(patientId)) {
      await this.deps.auditFirstDelivery(this.init.identity, patientId, this.init.source);
      this.audited.add(patientId);
    }
    return true;
  }

  /** The gate's answer for one patient: from the caller's whole scope when nothing filters by patient. */
  private async judge(category: Category, patientId: string, nowMs: number): Promise<boolean> {
    const { scope } = this.deps;
    if (this.init.patients !== null || !scope)
      return this.deps.mayRead(this.init.identity, patientId, category);
    let cached = this.scopes.get(category);
    if (!cached || nowMs - cached.checkedMs > this.deps.decisionTtlMs) {
      cached = { scope: await scope(this.init.identity, category), checkedMs: nowMs };
      this.scopes.set(category, cached);
    }
    return inScope(cached.scope, patientId);
  }
}
