import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { Category } from '../access/consent.ts';
import type { PatientScope } from '../access/readable-patients.ts';
import type { Identity } from '../access/session-guard.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { AcceptedMessage } from '../clinical/observations.store.ts';
import type { Reading } from '../clinical/readings-codec.ts';
import type { SecurityEvent } from '../detection/security-events.ts';
import type { Metrics } from '../observability/metrics.ts';
import { type ConnectionInit, StreamConnection } from './stream-connection.ts';
import { alertFrame, heartbeatFrame, ReadingsFrames, securityFrame } from './stream-messages.ts';
import type { StreamTopic } from './stream-query.ts';

export interface StreamLimits {
  /** Keepalive ping and credential re-check period. */
  pingMs: number;
  /** Period of the app-level heartbeat frame (clients watch for it; they cannot see pings). */
  heartbeatMs: number;
  /** How long a care-team/consent decision is trusted per connection and patient. */
  decisionTtlMs: number;
  maxBufferedBytes: number;
  maxQueued: number;
  maxConnections: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  pingMs: 30_000,
  heartbeatMs: 15_000,
  decisionTtlMs: 5_000,
  // About a minute of a busy ward's readings; a client this far behind is not watching live.
  maxBufferedBytes: 1024 * 1024,
  maxQueued: 2_000,
  maxConnections: 1_000,
};

export interface StreamHubDeps {
  /** The patient gate's `readable`, for one patient and the category a frame discloses. */
  readable(identity: Identity, patientIds: string[], category: Category): Promise<Set<string>>;
  /** The patient gate's `readablePatients`: everyone the caller may read in a category. */
  scope?(identity: Identity, category: Category): Promise<PatientScope>;
  audit: AuditLog;
  metrics: Metrics;
  log: Logger;
  /** The stored unit of a code (what the observations API answers with). */
  unitOf(code: string): string;
  isQuestionable(r: Reading): boolean;
  limits?: Partial<StreamLimits>;
}

/**
 * Fans stored readings, alert changes and security events out to live-stream clients. Each
 * event is serialised once, and only when some connection wants it: with nobody connected
 * the ingest path pays one size check per stored message.
 */
export class StreamHub {
  readonly limits: StreamLimits;
  private readonly connections = new Set<StreamConnection>();
  private readonly readings: ReadingsFrames;
  private timer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: StreamHubDeps) {
    this.limits = { ...DEFAULT_STREAM_LIMITS, ...deps.limits };
    this.readings = new ReadingsFrames(deps.unitOf, deps.isQuestionable);
  }

  get size(): number {
    return this.connections.size;
  }

  /** Takes over an upgraded socket; the hello frame is the caller's to send first. */
  attach(ws: WebSocket, init: ConnectionInit): StreamConnection {
    const { metrics, log } = this.deps;
    const conn = new StreamConnection(ws, init, {
      mayRead: async (identity, patientId, category) =>
        (await this.deps.readable(identity, [patientId], category)).has(patientId),
      ...(this.deps.scope ? { scope: (identity, category) => this.deps.scope!(identity, category) } : {}),
      auditFirstDelivery: (identity, patientId, source) =>
        this.deps.audit.append({
          actor: identity.actor,
          action: 'stream.read',
          patientId,
          resource: `Patient/${patientId}`,
          outcome: 'success',
          source,
        }),
      sent: (topic) => metrics.streamMessages.inc({ type: topic }),
      closed: (reason) => metrics.streamCloses.inc({ reason }),
      onError: (err) => log.error({ err }, 'live stream delivery failed'),
      decisionTtlMs: this.limits.decisionTtlMs,
      maxBufferedBytes: this.limits.maxBufferedBytes,
      maxQueued: this.limits.maxQueued,
    });
    this.connections.add(conn);
    metrics.streamsOpen.set(this.connections.size);
    ws.on('close', () => {
      conn.closedByPeer();
      this.connections.delete(conn);
      metrics.streamsOpen.set(this.connections.size);
    });
    this.timer ??= setInterval(() => this.keepalive(), this.limits.pingMs);
    this.heartbeatTimer ??= setInterval(() => this.heartbeat(), this.limits.heartbeatMs);
    return conn;
  }

  /** A durably stored message: one readings frame per patient part, built once. */
  publishStored(m: AcceptedMessage): void {
    if (this.connections.size === 0) return;
    for (const part of m.parts) {
      let text: string | undefined;
      for (const conn of this.connections) {
        if (!conn.wants('readings', part.patientId)) continue;
        text ??= this.readings.build(part.patientId, m.deviceId, part.readings);
        conn.offer('readings', part.patientId, text);
      }
    }
  }

  /** `view` is the alert as GET /api/v1/alerts shows it. */
  publishAlert(patientId: string, action: string, view: () => unknown): void {
    this.publish('alerts', patientId, () => alertFrame(action, view()));
  }

  publishSecurity(e: SecurityEvent): void {
    this.publish('security', null, () => securityFrame(e));
  }

  /**
   * Ends the streams of a session that has just ended (sign-out) at once, as the periodic
   * re-check would within pingMs: an error frame saying why, then 1008. Answers how many.
   */
  endSessionStreams(sessionIdHash: string, detail: string): number {
    return this.endStreamsOf((who) => who.kind === 'user' && who.sessionIdHash === sessionIdHash, detail);
  }

  /** The same for every session of one user (a password change ends them all). */
  endUserStreams(userId: string, detail: string): number {
    return this.endStreamsOf((who) => who.kind === 'user' && who.userId === userId, detail);
  }

  private endStreamsOf(isEnded: (who: Identity) => boolean, detail: string): number {
    let ended = 0;
    for (const conn of this.connections) {
      if (!isEnded(conn.identity)) continue;
      conn.fail('VIGIL_ERR_AUTH_REQUIRED', detail);
      ended++;
    }
    return ended;
  }

  /** Closes every stream with 1001 (going away) and stops the keepalive. */
  async stop(graceMs = 1000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    const open = [...this.connections];
    for (const conn of open) conn.close(1001, 'server-stop');
    const deadline = Date.now() + graceMs;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const conn of this.connections) conn.terminate();
  }

  private publish(topic: StreamTopic, patientId: string | null, build: () => string): void {
    if (this.connections.size === 0) return;
    let text: string | undefined;
    for (const conn of this.connections) {
      if (!conn.wants(topic, patientId)) continue;
      text ??= build();
      conn.offer(topic, patientId, text);
    }
  }

  /** One heartbeat frame, built once, to every open connection (liveness only: no patient data). */
  private heartbeat(): void {
    if (this.connections.size === 0) {
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = undefined;
      return;
    }
    const text = heartbeatFrame(Date.now());
    for (const conn of this.connections) conn.sendRaw(text);
  }

  private keepalive(): void {
    if (this.connections.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    for (const conn of this.connections) {
      conn.ping();
      conn.recheck().catch((err: unknown) => this.deps.log.error({ err }, 'live stream re-check failed'));
    }
  }
}
