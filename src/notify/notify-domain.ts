import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { parseUsername } from '../access/usernames.ts';
import type { UserStore } from '../access/users.store.ts';
import type { AuditInput } from '../audit/audit-log.ts';
import type { AlertEngine } from '../clinical/alerts/alert-engine.ts';
import type { AlertStore } from '../clinical/alerts/alerts.store.ts';
import type { VigilConfig } from '../config/config.ts';
import type { KeyRing } from '../crypto/key-ring.ts';
import type { App } from '../server/http.ts';
import type { Schema } from '../store/schema.ts';
import { AlertOutboxRelay } from './alert-outbox.ts';
import { EmailNotifier } from './email-notifier.ts';
import { parseSmtpUrl } from './email-smtp-url.ts';
import { OutboxCursors } from './outbox-cursors.store.ts';
import { WebhookStore } from './webhooks.store.ts';
import { WebhookDispatcher } from './webhooks-dispatcher.ts';
import { alertEventType, quarantinePayload } from './webhooks-events.ts';
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
  audit: { append(input: AuditInput): Promise<void> };
  alerts: AlertEngine;
  /** The alert history the webhook outbox tails (alert-outbox.ts), and alert rows without values. */
  alertStore: Pick<AlertStore, 'eventsAfter' | 'withoutValues'>;
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
  email: EmailNotifier | undefined;
  registerRoutes(app: App): void;
  /** Starts delivery once the server listens: links need its port when no public URL is set. */
  start(httpPort: number): void;
  onQuarantine(deviceId: string): void;
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
  const email =
    config.smtpUrl && config.mailFrom
      ? new EmailNotifier({
          smtp: parseSmtpUrl(config.smtpUrl),
          from: config.mailFrom,
          publicUrl: () => publicUrl,
          addressOf: async (member) => {
            // Care-team members are usernames; one that is not a user simply gets no e-mail.
            const username = parseUsername(member);
            const user = username ? await deps.users.findByUsername(username) : undefined;
            return user && user.disabledAt === null ? (user.email ?? undefined) : undefined;
          },
          audit: deps.audit,
          registry: deps.registry,
          log: log.child({ component: 'email' }),
          ...(deps.tuning?.emailRetryBaseMs === undefined
            ? {}
            : { retryBaseMs: deps.tuning.emailRetryBaseMs }),
        })
      : undefined;
  // Alert webhooks come only from the outbox, which tails alert_events: a crash between an
  // alert step and its queue rows loses nothing, and the listener below merely wakes it.
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
  // Publishing only inserts queue rows; it runs beside the alert engine, never inside its queue.
  const publish = (type: string, payload: string) => {
    dispatcher
      .publish(type, payload)
      .catch((err: unknown) => log.error({ err, type }, 'webhook event could not be queued'));
  };
  // E-mail stays on the live path. One chain, so the consent checks cannot reorder one alert's
  // notices (raise before escalate).
  let told = Promise.resolve();
  deps.alerts.subscribe((alert, action) => {
    // The engine tells listeners after the step's alert_events row is written.
    if (alertEventType(action)) outbox.kick();
    if (!email) return;
    told = told
      .then(async () => {
        if (!(await deps.mayDisclose(alert.patientId))) {
          log.info({ alert: alert.id, action }, 'alert not e-mailed: consent refuses disclosure of alerts');
          return;
        }
        email.onAlert(alert, action);
      })
      .catch((err: unknown) => log.error({ err, alert: alert.id }, 'alert notice not sent'));
  });
  return {
    webhooks,
    dispatcher,
    outbox,
    email,
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
      outbox.start();
    },
    onQuarantine(deviceId) {
      publish('device.quarantined', quarantinePayload(deviceId, publicUrl, Date.now()));
    },
    async stop() {
      // Notices already judged are handed on, and the outbox pass in progress has committed,
      // before the dispatcher and the store go away.
      await told;
      await outbox.stop();
      await dispatcher.stop();
      await email?.stop();
    },
  };
}
