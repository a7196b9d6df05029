import type { Logger } from 'pino';
import type { AlertStore, LoggedAlertEvent } from '../clinical/alerts/alerts.store.ts';
import { disclosableSteps } from './disclosable-alert-steps.ts';
import type { OutboxCursors } from './outbox-cursors.store.ts';
import { OutboxRelay, type OutboxRelayTuning } from './outbox-relay.ts';
import type { WebhookEventToQueue, WebhookStore } from './webhooks.store.ts';
import { type AlertWebhookEvent, alertEventType, alertPayload, alertStateAfter } from './webhooks-events.ts';

export { GAP_WAIT_MS } from './outbox-relay.ts';

/** The relay's row in outbox_cursors, as migration 0015 names it. */
export const WEBHOOK_ALERT_EVENTS_CURSOR = 'webhook-alert-events';

export interface AlertOutboxDeps extends OutboxRelayTuning {
  alerts: Pick<AlertStore, 'eventsAfter' | 'withoutValues'>;
  cursors: OutboxCursors;
  webhooks: Pick<WebhookStore, 'enqueueForSubscribers'>;
  /** Whether the patient's consent lets their alerts leave the system (see NotifyDeps). */
  mayDisclose(patientId: string): Promise<boolean>;
  /** Base of the links in payloads; known once the server listens. */
  publicUrl(): string;
  log: Logger;
  /** Called once a pass has queued deliveries: the dispatcher's kick. */
  onQueued(): void;
}

/**
 * The transactional outbox of alert webhooks (the relay's machinery: outbox-relay.ts).
 * `alert_events` is written with every alert step; the relay reads the events past its cursor
 * in id order and queues their deliveries in the transaction that moves the cursor, so a crash
 * between an alert step and its delivery rows loses nothing (the next start catches up) and
 * repeats nothing (the cursor moved with them). Id order is the engine's write order, so one
 * alert's raise is queued before its resolve.
 *
 * A payload is built from the alert row as the relay finds it, with the event's type, the
 * event's time as its timestamp, and the state the step left the alert in. A relay running late
 * (after a restart) may thus send an alert.raised whose acknowledgedAt or escalationLevel
 * already tell of later steps; that is acceptable, as a payload only tells the receiver that
 * something needs attention and links to the alert, whose page shows it as it is now. Consent is
 * likewise judged when the relay runs, which is when the alert leaves the system.
 */
export class AlertOutboxRelay extends OutboxRelay<LoggedAlertEvent> {
  constructor(private readonly deps: AlertOutboxDeps) {
    super({
      ...deps,
      cursor: WEBHOOK_ALERT_EVENTS_CURSOR,
      eventName: 'alert event',
      destination: 'webhooks',
    });
  }

  protected read(afterId: number, limit: number): Promise<readonly LoggedAlertEvent[]> {
    return this.deps.alerts.eventsAfter(afterId, limit);
  }

  protected async handOn(from: number, events: readonly LoggedAlertEvent[]): Promise<boolean> {
    // Consent and the alert rows are read before the transaction: on SQLite, Kysely has one
    // connection, and a query outside the transaction would wait for it to end, forever.
    const toQueue = await this.announced(events);
    const nowMs = this.now();
    const last = events.at(-1) as LoggedAlertEvent;
    const isMoved = await this.moveCursor(from, last.id, (tx) =>
      this.deps.webhooks.enqueueForSubscribers(tx, toQueue, nowMs),
    );
    if (isMoved && toQueue.length > 0) this.deps.onQueued();
    return isMoved;
  }

  /** The events that go out: of a webhook type, of an alert still readable, with consent. */
  private async announced(events: readonly LoggedAlertEvent[]): Promise<WebhookEventToQueue[]> {
    const typed = events.filter((e) => alertEventType(e.action) !== undefined);
    const steps = await disclosableSteps(this.deps, typed, 'alert not announced');
    return steps.map(({ event, alert }) => {
      const type = alertEventType(event.action) as AlertWebhookEvent;
      const asThen = { ...alert, state: alertStateAfter(type) };
      return { eventType: type, payload: alertPayload(asThen, type, this.deps.publicUrl(), event.ts) };
    });
  }
}
