import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ErrorCode } from '../errors/catalogue.ts';
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
]);

/**
 * Every refused input becomes a counted, logged and stored security event. Writes are
 * batched so a flood of bad input (an attack) costs one insert per batch, not one per packet,
 * and a burst is capped so it cannot fill the disk.
 */
export class SecurityEvents {
  private pending: Array<Omit<SecurityEvent, 'id'>> = [];
  private timer: NodeJS.Timeout | undefined;
  private dropped = 0;
  private readonly listeners: Array<(e: SecurityEvent) => void> = [];
  private static readonly MAX_PENDING = 10_000;

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  record(e: SecurityEventInput): void {
    this.metrics.refusals.inc({ code: e.code });
    const severity = HIGH.has(e.code) ? 'high' : 'medium';
    // The detail is built by Vigil's validators and never carries reading values or names.
    this.log.warn({ code: e.code, deviceId: e.deviceId, remote: e.remoteAddress, severity }, e.detail);
    if (this.pending.length >= SecurityEvents.MAX_PENDING) {
      this.dropped++;
      return;
    }
    this.pending.push({ ...e, ts: Date.now(), severity });
    this.timer ??= setTimeout(() => void this.flush(), 50);
  }

  /** Called with each event once it is stored, with its id (the live stream). */
  subscribe(listener: (e: SecurityEvent) => void): void {
    this.listeners.push(listener);
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
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

  private notify(batch: Array<Omit<SecurityEvent, 'id'>>, ids: number[]): void {
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
