import type { Logger } from 'pino';
import type { AlertStore, LoggedAlertEvent } from '../clinical/alerts/alerts.store.ts';
import { disclosableSteps } from './disclosable-alert-steps.ts';
import type { EmailDeliveryStore } from './email-deliveries.store.ts';
import { emailNoticesOf } from './email-notices.ts';
import type { OutboxCursors } from './outbox-cursors.store.ts';
import { OutboxRelay, type OutboxRelayTuning } from './outbox-relay.ts';

/** The relay's row in outbox_cursors, as migration 0017 names it. */
export const EMAIL_ALERT_EVENTS_CURSOR = 'email-alert-events';

export interface AlertEmailRelayDeps extends OutboxRelayTuning {
  alerts: Pick<AlertStore, 'eventsAfter' | 'withoutValues'>;
  cursors: OutboxCursors;
  /** The e-mail queue; undefined when SMTP is not configured. */
  queue: Pick<EmailDeliveryStore, 'enqueue'> | undefined;
  /** Whether the patient's consent lets their alerts leave the system (see NotifyDeps). */
  mayDisclose(patientId: string): Promise<boolean>;
  log: Logger;
  /** Called once a pass has queued e-mails: the sender's kick. */
  onQueued(): void;
}

/**
 * The outbox of alert e-mails: tails `alert_events` past a cursor of its own and queues the
 * notices (email-notices.ts) in the transaction that moves it, so a crash between an alert step
 * and its e-mail loses nothing and repeats nothing.
 *
 * A cursor of its own rather than a share of the webhook relay's transaction: a mail queue that
 * cannot be written then holds up no webhook, and the reverse. Without SMTP the relay still runs
 * and moves its cursor, queueing nothing: configuring SMTP later mails what happens from then on,
 * not every alert since the upgrade. (A server without SMTP beside one with it, on one database,
 * therefore passes events unmailed: give every server the same mail settings.)
 */
export class AlertEmailRelay extends OutboxRelay<LoggedAlertEvent> {
  constructor(private readonly deps: AlertEmailRelayDeps) {
    super({ ...deps, cursor: EMAIL_ALERT_EVENTS_CURSOR, eventName: 'alert event', destination: 'e-mail' });
  }

  protected read(afterId: number, limit: number): Promise<readonly LoggedAlertEvent[]> {
    return this.deps.alerts.eventsAfter(afterId, limit);
  }

  protected async handOn(from: number, events: readonly LoggedAlertEvent[]): Promise<boolean> {
    const { queue } = this.deps;
    // Consent and the alert rows are read before the transaction: on SQLite, Kysely has one
    // connection, and a query outside the transaction would wait for it to end, forever.
    const handOvers = events.filter((e) => e.action === 'raise' || e.action === 'escalate');
    const notices = queue
      ? emailNoticesOf(await disclosableSteps(this.deps, handOvers, 'alert not e-mailed'))
      : [];
    const nowMs = this.now();
    const last = events.at(-1) as LoggedAlertEvent;
    const isMoved = await this.moveCursor(from, last.id, async (tx) => {
      if (queue && notices.length > 0) await queue.enqueue(tx, notices, nowMs);
    });
    if (isMoved && notices.length > 0) this.deps.onQueued();
    return isMoved;
  }
}
