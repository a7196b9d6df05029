import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { UserStore } from '../access/users.store.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { AlertEngine } from '../clinical/alerts/alert-engine.ts';
import type { AlertStore } from '../clinical/alerts/alerts.store.ts';
import type { VigilConfig } from '../config/config.ts';
import type { KeyRing } from '../crypto/key-ring.ts';
import type { SecurityEvents } from '../detection/security-events.ts';
import type { DeviceStore } from '../devices/devices.store.ts';
import type { App } from '../server/http.ts';
import type { Schema } from '../store/schema.ts';
import { AlertOutboxRelay } from './alert-outbox.ts';
import { DeviceEventsRelay } from './device-events-outbox.ts';
import { EmailDeliveryStore } from './email-deliveries.store.ts';
import { EmailNotifier } from './email-notifier.ts';
import { AlertEmailRelay } from './email-outbox.ts';
import { memberAddress } from './email-recipients.ts';
import { parseSmtpUrl } from './email-smtp-url.ts';
import { OutboxCursors } from './outbox-cursors.store.ts';
import { WebhookStore } from './webhooks.store.ts';
import { WebhookDispatcher } from './webhooks-dispatcher.ts';
import { alertEventType } from './webhooks-events.ts';
import { registerWebhookRoutes } from './webhooks-routes.ts';

/** Knobs tests turn so retries come in milliseconds rather than minutes. */
export interface NotifyTuning {
  retryBaseMs?: number;
  pollMs?: number;
  emailRetryBaseMs?: number;
}

export interface NotifyDeps {
  config: VigilConfig;
  db: Kysely<Schema>;
  keys: KeyRing;
  /** Search: the device-event relay looks for the entries it wrote before a crash. */
  audit: Pick<AuditLog, 'append' | 'search'>;
  alerts: AlertEngine;
  /** The alert history the webhook outbox tails (alert-outbox.ts), and alert rows without values. */
  alertStore: Pick<AlertStore, 'eventsAfter' | 'withoutValues'>;
  /** The quarantines and releases the device-event outbox tails (device-events-outbox.ts). */
  devices: Pick<DeviceStore, 'eventsAfter'>;
  /** Where the device-event outbox records each quarantine as a security event, once, whoever quarantined. */
  security: Pick<SecurityEvents, 'storeIn' | 'announce'>;
  users: UserStore;
  registry: Registry;
  log: Logger;
  /**
   * Whether the patient's consent lets their alerts leave the system for treatment. An alert
   * the list and the stream withhold (consent refusing the alerts category) must not reach a
   * webhook receiver or an inbox either.
   */
  mayDisclose(patientId: string): Promise<boolean>;
  tuning?: NotifyTuning | undefined;
}

export interface Notifications {
  webhooks: WebhookStore;
  dispatcher: WebhookDispatcher;
  outbox: AlertOutboxRelay;
  deviceOutbox: DeviceEventsRelay;
  email: EmailNotifier | undefined;
  emailOutbox: AlertEmailRelay;
  registerRoutes(app: App): void;
  /** Starts delivery once the server listens: links need its port when no public URL is set. */
  start(httpPort: number): void;
  /**
   * Audits and announces the quarantines and releases just committed, and records each
   * quarantine's security event; resolves once that pass
   * is over (or failed: the relay tries again with backoff, and at the next start).
   */
  relayDeviceEvents(): Promise<void>;
  stop(): Promise<void>;
}

/** Outbound notifications (issue 3, item 7): signed webhooks and alert e-mails. */
export function createNotifications(deps: NotifyDeps): Notifications {
  const { config, log } = deps;
  let publicUrl = config.publicUrl ?? '';
  const webhooks = new WebhookStore(deps.db, deps.keys);
  const dispatcher = new WebhookDispatcher({
    store: webhooks,
    registry: deps.registry,
    log: log.child({ component: 'webhooks' }),
    allowLoopbackHttp: config.webhooksAllowLoopbackHttp,
    // Checked again before every attempt: a retry may come after an erasure or a withdrawal.
    disclosure: { alerts: deps.alertStore, mayDisclose: deps.mayDisclose },
    ...(deps.tuning?.retryBaseMs === undefined ? {} : { retryBaseMs: deps.tuning.retryBaseMs }),
    ...(deps.tuning?.pollMs === undefined ? {} : { pollMs: deps.tuning.pollMs }),
    // An alert event names a patient: its leaving the system is a disclosure, and is audited.
    onDelivered: async (d) => {
      const { data } = JSON.parse(d.payload) as { data?: { alertId?: string; patientId?: string } };
      if (!data?.patientId || !data.alertId) return;
      await deps.audit.append({
        actor: 'system:notify',
        action: 'notify.webhook',
        patientId: data.patientId,
        resource: `Alert/${data.alertId}`,
        purpose: `${d.eventType} to webhook ${d.webhookId}`,
        outcome: 'success',
      });
    },
  });
  const emailQueue = new EmailDeliveryStore(deps.db);
  const email =
    config.smtpUrl && config.mailFrom
      ? new EmailNotifier({
          smtp: parseSmtpUrl(config.smtpUrl),
          from: config.mailFrom,
          publicUrl: () => publicUrl,
          queue: emailQueue,
          alerts: deps.alertStore,
          mayDisclose: deps.mayDisclose,
          addressOf: memberAddress(deps.users),
          audit: deps.audit,
          registry: deps.registry,
          log: log.child({ component: 'email' }),
          pollMs: deps.tuning?.pollMs,
          ...(deps.tuning?.emailRetryBaseMs === undefined
            ? {}
            : { retryBaseMs: deps.tuning.emailRetryBaseMs }),
        })
      : undefined;
  // Alert webhooks and e-mails come only from outboxes tailing alert_events: a crash between an
  // alert step and its queue rows loses nothing, and the listener below merely wakes them.
  const outbox = new AlertOutboxRelay({
    alerts: deps.alertStore,
    cursors: new OutboxCursors(deps.db),
    webhooks,
    mayDisclose: deps.mayDisclose,
    publicUrl: () => publicUrl,
    log: log.child({ component: 'webhooks-outbox' }),
    onQueued: () => dispatcher.kick(),
    pollMs: deps.tuning?.pollMs,
  });
  const emailOutbox = new AlertEmailRelay({
    alerts: deps.alertStore,
    cursors: new OutboxCursors(deps.db),
    queue: email ? emailQueue : undefined,
    mayDisclose: deps.mayDisclose,
    log: log.child({ component: 'email-outbox' }),
    onQueued: () => email?.kick(),
    pollMs: deps.tuning?.pollMs,
  });
  // Quarantines and releases are audited and announced, and quarantines recorded as security
  // events, from device_events, written with the status change: a crash right after it loses none.
  const deviceOutbox = new DeviceEventsRelay({
    devices: deps.devices,
    cursors: new OutboxCursors(deps.db),
    webhooks,
    audit: deps.audit,
    security: deps.security,
    publicUrl: () => publicUrl,
    log: log.child({ component: 'device-events-outbox' }),
    onQueued: () => dispatcher.kick(),
    pollMs: deps.tuning?.pollMs,
  });
  deps.alerts.subscribe((_alert, action) => {
    // The engine tells listeners after the step's alert_events row is written.
    if (alertEventType(action)) outbox.kick();
    if (action === 'raise' || action === 'escalate') emailOutbox.kick();
  });
  return {
    webhooks,
    dispatcher,
    outbox,
    deviceOutbox,
    email,
    emailOutbox,
    registerRoutes(app) {
      registerWebhookRoutes(app, {
        store: webhooks,
        dispatcher,
        audit: deps.audit,
        policy: { allowLoopbackHttp: config.webhooksAllowLoopbackHttp },
      });
    },
    start(httpPort) {
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      publicUrl = config.publicUrl ?? `https://${host}:${httpPort}`;
      dispatcher.start();
      email?.start();
      outbox.start();
      emailOutbox.start();
      deviceOutbox.start();
    },
    async relayDeviceEvents() {
      deviceOutbox.kick();
      await deviceOutbox.idle();
    },
    async stop() {
      // The outbox pass in progress commits before the senders and the store go away; e-mails
      // being sent finish or go back to the queue.
      await outbox.stop();
      await emailOutbox.stop();
      await deviceOutbox.stop();
      await dispatcher.stop();
      await email?.stop();
    },
  };
}
