import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ErrorCode } from '../errors/catalogue.ts';
import { LogSampler } from '../observability/log-sampler.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Schema } from '../store/schema.ts';

export interface SecurityEventInput {
  code: ErrorCode;
  detail: string;
  deviceId?: string | undefined;
  remoteAddress?: string | undefined;
}

export interface SecurityEvent extends SecurityEventInput {
  id: number;
  ts: number;
  severity: string;
}

const HIGH: ReadonlySet<string> = new Set([
  'VIGIL_ERR_TLS_REVOKED',
  'VIGIL_ERR_MQTT_TOPIC_DENIED',
  'VIGIL_ERR_INGEST_REPLAY',
  'VIGIL_ERR_DEVICE_QUARANTINED',
  'VIGIL_ERR_TLS_BAD_CERT',
  'VIGIL_ERR_BREAK_GLASS',
  'VIGIL_ERR_EXPORT_PATIENT_REQUEST',
  'VIGIL_ERR_AUDIT_TAMPERED',
]);

function severityOf(code: ErrorCode): string {
  return HIGH.has(code) ? 'high' : 'medium';
}

/** One kind of event from one source: repeats within the window are counted, not stored. */
interface Repeats {
  startMs: number;
  repeats: number;
  first: Omit<SecurityEvent, 'id'>;
}

/** One source (remote address, else device): how many kinds it stored, and what it sent past the cap. */
interface Source {
  startMs: number;
  kinds: number;
  overflow: number;
  overflowCodes: Map<string, number>;
  severity: string;
  first: Omit<SecurityEvent, 'id'> | undefined;
}

/**
 * Every refused input becomes a counted, logged and stored security event. Writes are
 * batched so a flood of bad input (an attack) costs one insert per batch, not one per packet.
 * A flood cannot fill the table either: within a window, an event that repeats one already
 * stored from the same source (same code, remote address, device and detail) is only counted,
 * and one summary row says how many times it came; a source that sends more than
 * MAX_KINDS_PER_SOURCE different events in a window gets one summary row for the rest. Every
 * refusal is still counted in /metrics (vigil_refusals_total); its log line is thinned per code
 * like the gateway's and the HTTP server's, which already log most of these refusals once.
 */
export class SecurityEvents {
  private pending: Array<Omit<SecurityEvent, 'id'>> = [];
  private timer: NodeJS.Timeout | undefined;
  private summaryTimer: NodeJS.Timeout | undefined;
  private dropped = 0;
  private readonly listeners: Array<(e: SecurityEvent) => void> = [];
  private readonly repeats = new Map<string, Repeats>();
  private readonly sources = new Map<string, Source>();
  private static readonly MAX_PENDING = 10_000;
  static readonly WINDOW_MS = 60_000;
  static readonly MAX_KINDS_PER_SOURCE = 100;
  /** Bounds the memory the merging itself takes when sources are many (spoofed addresses). */
  private static readonly MAX_TRACKED = 20_000;
  private readonly logSampler: LogSampler;

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly now: () => number = Date.now,
  ) {
    // Anyone who reaches a port can cause refusals: one log line each would let them fill the disk.
    this.logSampler = new LogSampler({ log, what: 'security events', now });
  }

  record(e: SecurityEventInput): void {
    const severity = severityOf(e.code);
    this.countAndLog(e, severity);
    const nowMs = this.now();
    const event = { ...e, ts: nowMs, severity };
    const key = JSON.stringify([e.code, e.remoteAddress ?? null, e.deviceId ?? null, e.detail.slice(0, 500)]);
    const seen = this.repeats.get(key);
    if (seen && nowMs - seen.startMs < SecurityEvents.WINDOW_MS) {
      seen.repeats++;
      this.scheduleSummaries();
      return;
    }
    const sourceKey = e.remoteAddress ?? (e.deviceId === undefined ? 'vigil' : `device:${e.deviceId}`);
    let source = this.sources.get(sourceKey);
    if (!source || nowMs - source.startMs >= SecurityEvents.WINDOW_MS) {
      if (source) this.summariseSource(source);
      source = {
        startMs: nowMs,
        kinds: 0,
        overflow: 0,
        overflowCodes: new Map(),
        severity: 'medium',
        first: undefined,
      };
      this.sources.set(sourceKey, source);
    }
    if (source.kinds >= SecurityEvents.MAX_KINDS_PER_SOURCE) {
      source.overflow++;
      source.overflowCodes.set(e.code, (source.overflowCodes.get(e.code) ?? 0) + 1);
      source.first ??= event;
      if (severity === 'high') source.severity = 'high';
      this.scheduleSummaries();
      return;
    }
    if (seen) this.summariseRepeats(seen);
    if (
      this.pending.length >= SecurityEvents.MAX_PENDING ||
      this.repeats.size >= SecurityEvents.MAX_TRACKED
    ) {
      this.dropped++;
      return;
    }
    source.kinds++;
    this.repeats.set(key, { startMs: nowMs, repeats: 0, first: event });
    this.pending.push(event);
    this.timer ??= setTimeout(() => void this.write(false), 50);
  }

  /**
   * Stores one event in the caller's transaction, at `tsMs`, outside the batching and the flood
   * merging: for an event an outbox relay hands on exactly once (a quarantine,
   * notify/device-events-outbox.ts), which must commit or roll back with the relay's cursor.
   * Nothing is counted, logged or told until announce() is called with what this returns, once
   * the transaction has committed.
   */
  async storeIn(tx: Kysely<Schema>, e: SecurityEventInput, tsMs: number): Promise<SecurityEvent> {
    const event = { ...e, ts: tsMs, severity: severityOf(e.code), detail: e.detail.slice(0, 500) };
    const row = await tx
      .insertInto('security_events')
      .values({
        ts: event.ts,
        device_id: event.deviceId ?? null,
        code: event.code,
        severity: event.severity,
        detail: event.detail,
        remote_address: event.remoteAddress ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { ...event, id: Number(row.id) };
  }

  /** Counts, logs and tells subscribers the events storeIn stored, after their transaction committed. */
  announce(events: readonly SecurityEvent[]): void {
    for (const e of events) this.countAndLog(e, e.severity);
    const ids = events.map((e) => e.id);
    if (this.listeners.length > 0) this.notify(events, ids);
  }

  private countAndLog(e: SecurityEventInput, severity: string): void {
    this.metrics.refusals.inc({ code: e.code });
    if (!this.logSampler.admit(e.code)) return;
    // The detail is built by Vigil's validators and never carries reading values or names.
    this.log.warn({ code: e.code, deviceId: e.deviceId, remote: e.remoteAddress, severity }, e.detail);
  }

  /** Summaries are written at the latest one window after the first uncounted repeat. */
  private scheduleSummaries(): void {
    this.summaryTimer ??= setTimeout(() => void this.write(false), SecurityEvents.WINDOW_MS);
    this.summaryTimer.unref?.();
  }

  private summariseRepeats(r: Repeats): void {
    if (r.repeats === 0) return;
    const since = new Date(r.startMs).toISOString();
    this.pending.push({
      ...r.first,
      ts: this.now(),
      detail: `repeated ${r.repeats} more times since ${since}, stored once: ${r.first.detail}`,
    });
    r.repeats = 0;
  }

  private summariseSource(s: Source): void {
    if (s.overflow === 0 || !s.first) return;
    const codes = [...s.overflowCodes].map(([code, n]) => `${code} x${n}`).join(', ');
    this.pending.push({
      ...s.first,
      ts: this.now(),
      severity: s.severity,
      detail: `${s.overflow} more refusals from this source since ${new Date(s.startMs).toISOString()}, over ${SecurityEvents.MAX_KINDS_PER_SOURCE} different events in ${SecurityEvents.WINDOW_MS / 1000} s, counted but not stored one by one: ${codes}`,
    });
    s.overflow = 0;
    s.overflowCodes.clear();
    s.first = undefined;
  }

  /**
   * Turns what was counted in windows that have ended (or in all, when asked for the table as
   * it stands) into summary rows, and forgets the ended windows. Batch writes take only ended
   * windows: otherwise each new event's write would add a summary row for every flood in
   * progress.
   */
  private collectSummaries(all: boolean): void {
    const nowMs = this.now();
    let counting = false;
    for (const [key, r] of this.repeats) {
      const ended = nowMs - r.startMs >= SecurityEvents.WINDOW_MS;
      if (ended || all) this.summariseRepeats(r);
      if (ended) this.repeats.delete(key);
      else if (r.repeats > 0) counting = true;
    }
    for (const [key, s] of this.sources) {
      const ended = nowMs - s.startMs >= SecurityEvents.WINDOW_MS;
      if (ended || all) this.summariseSource(s);
      if (ended) this.sources.delete(key);
      else if (s.overflow > 0) counting = true;
    }
    if (counting) this.scheduleSummaries();
  }

  /** Called with each event once it is stored, with its id (the live stream). */
  subscribe(listener: (e: SecurityEvent) => void): void {
    this.listeners.push(listener);
  }

  /** At shutdown: stores what is pending and logs how many lines were held back, window ended or not. */
  async close(): Promise<void> {
    await this.flush();
    this.logSampler.stop();
  }

  /** Stores everything recorded so far, with summaries of the repeats counted until now. */
  async flush(): Promise<void> {
    // Only ended windows: this runs on every read of the list, which must not reset the budget.
    this.logSampler.flush();
    await this.write(true);
  }

  private async write(allSummaries: boolean): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.summaryTimer) clearTimeout(this.summaryTimer);
    this.summaryTimer = undefined;
    this.collectSummaries(allSummaries);
    const batch = this.pending.splice(0);
    if (batch.length === 0) return;
    if (this.dropped > 0) {
      this.log.error({ dropped: this.dropped }, 'security events dropped under flood');
      this.dropped = 0;
    }
    let ids: number[];
    try {
      const rows = await this.db
        .insertInto('security_events')
        .values(
          batch.map((e) => ({
            ts: e.ts,
            device_id: e.deviceId ?? null,
            code: e.code,
            severity: e.severity,
            detail: e.detail.slice(0, 500),
            remote_address: e.remoteAddress ?? null,
          })),
        )
        .returning('id')
        .execute();
      // RETURNING order is unspecified; one statement assigns its ids in VALUES order.
      ids = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    } catch (err) {
      this.log.error({ err }, 'could not store security events');
      return;
    }
    if (this.listeners.length > 0) this.notify(batch, ids);
  }

  private notify(batch: ReadonlyArray<Omit<SecurityEvent, 'id'>>, ids: readonly number[]): void {
    batch.forEach((e, i) => {
      const event: SecurityEvent = { ...e, id: ids[i] ?? 0, detail: e.detail.slice(0, 500) };
      for (const l of this.listeners) {
        try {
          l(event);
        } catch (err) {
          this.log.error({ err }, 'security event listener failed');
        }
      }
    });
  }

  async list(opts: {
    limit: number;
    sinceId?: number;
    deviceId?: string;
    code?: string;
  }): Promise<SecurityEvent[]> {
    let q = this.db.selectFrom('security_events').selectAll().orderBy('id', 'desc').limit(opts.limit);
    if (opts.sinceId !== undefined) q = q.where('id', '>', opts.sinceId);
    if (opts.deviceId !== undefined) q = q.where('device_id', '=', opts.deviceId);
    if (opts.code !== undefined) q = q.where('code', '=', opts.code);
    const rows = await q.execute();
    return rows.map((r) => ({
      id: r.id,
      ts: r.ts,
      code: r.code as ErrorCode,
      severity: r.severity,
      detail: r.detail,
      deviceId: r.device_id ?? undefined,
      remoteAddress: r.remote_address ?? undefined,
    }));
  }
}
