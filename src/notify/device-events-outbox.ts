import type { Logger } from 'pino';
import type { AuditInput, AuditLog } from '../audit/audit-log.ts';
import type { SecurityEvent, SecurityEventInput, SecurityEvents } from '../detection/security-events.ts';
import type { DeviceEvent, DeviceStore } from '../devices/devices.store.ts';
import type { OutboxCursors } from './outbox-cursors.store.ts';
import { OutboxRelay, type OutboxRelayTuning } from './outbox-relay.ts';
import type { WebhookStore } from './webhooks.store.ts';
import { deviceEventPayload, deviceEventType } from './webhooks-events.ts';

/** The relay's row in outbox_cursors, as migration 0018 names it. */
export const DEVICE_EVENTS_CURSOR = 'device-events';

const AUDIT_ACTIONS = { quarantined: 'device.quarantine', released: 'device.release' } as const;

export interface DeviceEventsOutboxDeps extends OutboxRelayTuning {
  devices: Pick<DeviceStore, 'eventsAfter'>;
  cursors: OutboxCursors;
  webhooks: Pick<WebhookStore, 'enqueueForSubscribers'>;
  audit: Pick<AuditLog, 'append' | 'search'>;
  /**
   * Where each quarantine is recorded as a security event, in the cursor's transaction. Absent
   * in a process that records none (the composition root passes the server's log).
   */
  security?: Pick<SecurityEvents, 'storeIn' | 'announce'> | undefined;
  /** Base of the links in payloads; known once the server listens. */
  publicUrl(): string;
  log: Logger;
  /** Called once a pass has queued deliveries: the dispatcher's kick. */
  onQueued(): void;
}

/**
 * The audit entry of a device event. Its purpose names the event id: that is how the relay
 * finds, after a crash, the entries it had already written.
 */
export function deviceEventAudit(event: DeviceEvent): AuditInput {
  const key = `device event ${event.id}`;
  return {
    actor: event.actor,
    action: AUDIT_ACTIONS[event.type],
    resource: `Device/${event.deviceId}`,
    purpose: event.reason === null ? key : `${event.reason} (${key})`,
    outcome: 'success',
  };
}

/** The security event of a quarantine: high severity, so a security officer sees it in the list and the stream. */
export function quarantineSecurityEvent(event: DeviceEvent): SecurityEventInput {
  return {
    code: 'VIGIL_ERR_DEVICE_QUARANTINED',
    detail: `device ${event.deviceId} quarantined by ${event.actor} (device event ${event.id})`,
    deviceId: event.deviceId,
  };
}

/**
 * The outbox of quarantines and releases (migration 0018): each `device_events` row, written in
 * the transaction that changed the device's status, gets its audit entry and its webhooks
 * (`device.quarantined`, `device.released`) from here, and a quarantine its security event, so a
 * crash after the status change loses none of them, and a quarantine made by any process (this
 * server, another on the same database) is recorded once, by whichever relay hands it on.
 *
 * The security event is stored in the transaction that moves the cursor, with the webhooks: it
 * commits exactly once or not at all, and is counted, logged and streamed after that commit.
 *
 * The audit entry cannot join that transaction: the audit log appends in a transaction of its
 * own, hash-chaining each entry to the one before, keeps appends in order by queueing them in
 * its process (audit-log.ts), and tells its listeners (syslog) after the commit. An entry written inside another store's
 * transaction would bypass that queue (on PostgreSQL two appends would take one seq) and the
 * listeners. So the relay appends it through the audit log, before it moves the cursor, and
 * first looks for an entry already keyed with the event's id (deviceEventAudit): a crash between
 * the append and the cursor's move then repeats nothing. Two relays reading the same event at
 * the same moment could each find none and each append one; each process runs one relay, and
 * the audit log already takes one appending process per PostgreSQL database.
 */
export class DeviceEventsRelay extends OutboxRelay<DeviceEvent> {
  constructor(private readonly deps: DeviceEventsOutboxDeps) {
    super({
      ...deps,
      cursor: DEVICE_EVENTS_CURSOR,
      eventName: 'device event',
      destination: 'the audit trail and webhooks',
    });
  }

  protected read(afterId: number, limit: number): Promise<readonly DeviceEvent[]> {
    return this.deps.devices.eventsAfter(afterId, limit);
  }

  protected async handOn(from: number, events: readonly DeviceEvent[]): Promise<boolean> {
    // Appended before the transaction: on SQLite, Kysely has one connection, and the audit log's
    // own transaction would wait for the cursor's to end, forever.
    for (const event of events) await this.audit(event);
    const publicUrl = this.deps.publicUrl();
    const toQueue = events.map((e) => ({
      eventType: deviceEventType(e.type),
      payload: deviceEventPayload(e, publicUrl),
    }));
    const nowMs = this.now();
    const last = events.at(-1) as DeviceEvent;
    const { security } = this.deps;
    const recorded: SecurityEvent[] = [];
    const isMoved = await this.moveCursor(from, last.id, async (tx) => {
      await this.deps.webhooks.enqueueForSubscribers(tx, toQueue, nowMs);
      if (!security) return;
      for (const e of events) {
        if (e.type === 'quarantined')
          recorded.push(await security.storeIn(tx, quarantineSecurityEvent(e), e.atMs));
      }
    });
    if (!isMoved) return false;
    this.deps.onQueued();
    security?.announce(recorded);
    return true;
  }

  /** Appends the event's audit entry, at the event's time, unless an earlier pass did. */
  private async audit(event: DeviceEvent): Promise<void> {
    const entry = deviceEventAudit(event);
    const sameMoment = await this.deps.audit.search({
      limit: 100,
      actor: entry.actor,
      action: entry.action,
      fromMs: event.atMs,
      toMs: event.atMs,
    });
    if (sameMoment.some((r) => r.resource === entry.resource && r.purpose === entry.purpose)) return;
    await this.deps.audit.append(entry, event.atMs);
  }
}
