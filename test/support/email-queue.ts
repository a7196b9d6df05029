import { randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { AuditInput } from '../../src/audit/audit-log.ts';
import type { Alert } from '../../src/clinical/alerts/alert-lifecycle.ts';
import { AlertStore } from '../../src/clinical/alerts/alerts.store.ts';
import { EmailDeliveryStore, type EmailKind } from '../../src/notify/email-deliveries.store.ts';
import { EmailNotifier, type EmailNotifierDeps } from '../../src/notify/email-notifier.ts';
import { parseSmtpUrl } from '../../src/notify/email-smtp-url.ts';
import type { Store } from '../../src/store/database.ts';
import { anAlert, writeStep } from './alert-steps.ts';

const PATIENT_KEY = randomBytes(32);
/** One data key for every patient: these tests read no value back. */
export const keyOf = async () => PATIENT_KEY;

/** Raises one urgent alert per notice and queues a raise e-mail for each, as the outbox relay would. */
export async function queueRaises(
  store: Store,
  n: number,
  member = 'nurse-a',
  changes: Partial<Alert> = {},
): Promise<string[]> {
  const alerts = new AlertStore(store.db, keyOf);
  const queue = new EmailDeliveryStore(store.db);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `a-${randomBytes(6).toString('hex')}`;
    await writeStep(
      alerts,
      anAlert(id, 'p-1', Date.now(), { deviceId: id, assignedTo: member, ...changes }),
      'raise',
      Date.now(),
    );
    const [event] = (await alerts.eventsAfter(0, 1_000_000)).filter((e) => e.alertId === id);
    const kind: EmailKind = 'raise';
    await queue.enqueue(store.db, [{ alertId: id, eventId: event!.id, kind, member }], Date.now());
    ids.push(id);
  }
  return ids;
}

/** A sender on `store` for the SMTP server at `port` (no TLS), silent, its audit kept in `audited`. */
export function senderOn(
  store: Store,
  port: number,
  changes: Partial<EmailNotifierDeps> & { audited?: AuditInput[]; log?: Logger } = {},
): EmailNotifier {
  const { audited, ...rest } = changes;
  return new EmailNotifier({
    smtp: parseSmtpUrl(`smtp://127.0.0.1:${port}?tls=off`),
    from: 'vigil@hospital.example',
    publicUrl: () => 'https://vigil.hospital.example',
    queue: new EmailDeliveryStore(store.db),
    alerts: new AlertStore(store.db, keyOf),
    mayDisclose: async () => true,
    addressOf: async (member) => `${member}@hospital.example`,
    audit: { append: async (e) => void audited?.push(e) },
    registry: new Registry(),
    log: pino({ level: 'silent' }),
    retryBaseMs: 1,
    ...rest,
  });
}
