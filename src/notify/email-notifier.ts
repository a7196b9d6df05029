import { setTimeout as sleep } from 'node:timers/promises';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { AuditInput } from '../audit/audit-log.ts';
import type { AlertAction } from '../clinical/alerts/alert-engine.ts';
import type { Alert } from '../clinical/alerts/alert-lifecycle.ts';
import { maskEmailAddress } from './email-address.ts';
import type { SmtpSettings } from './email-smtp-url.ts';
import { alertLink } from './webhooks-events.ts';

export interface EmailNotifierDeps {
  smtp: SmtpSettings;
  from: string;
  /** Base of links; a function because the port is known only once the server listens. */
  publicUrl: () => string;
  /** The address of a care-team member (a username), or undefined when they have none. */
  addressOf(member: string): Promise<string | undefined>;
  audit: { append(input: AuditInput): Promise<void> };
  registry: Registry;
  log: Logger;
  /** Attempts per message; failures in between wait retryBaseMs, then twice that, ... */
  attempts?: number;
  retryBaseMs?: number;
}

type Outcome = 'sent' | 'failed' | 'no-address';

const MAX_SMTP_CONNECTIONS = 4;

/** What the message says: that something needs the reader, and where; no patient data. */
export function composeAlertEmail(
  kind: 'raise' | 'escalate',
  link: string,
): { subject: string; text: string } {
  const subject =
    kind === 'raise' ? 'Vigil: an urgent alert needs you' : 'Vigil: an urgent alert was passed to you';
  const why =
    kind === 'raise'
      ? 'An urgent alert was raised and you hold it.'
      : 'An urgent alert was not acknowledged in time and has been passed on to you.';
  const text = `${why}\n\nOpen it in Vigil: ${link}\n\nSign in to see the details: this message carries no patient information on purpose.\n`;
  return { subject, text };
}

/**
 * E-mails the holder of an urgent alert when it is raised, and the new holder when it
 * escalates. Sending runs detached from the alert engine's queue: a slow or dead mail relay
 * never delays an alert, it is retried a few times, then logged, counted and audited.
 */
export class EmailNotifier {
  private readonly transport: Transporter;
  private readonly pending = new Set<Promise<void>>();
  private readonly outcomes: Counter<'outcome'>;
  private stopped = false;
  /** Cuts retry waits short at stop(). */
  private readonly stopping = new AbortController();

  constructor(private readonly deps: EmailNotifierDeps) {
    const { smtp } = deps;
    this.transport = nodemailer.createTransport({
      // A few pooled connections: a burst of urgent alerts queues its messages on them rather
      // than opening one connection each against a relay that may be slow or down.
      pool: true,
      maxConnections: MAX_SMTP_CONNECTIONS,
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      requireTLS: smtp.requireStartTls,
      ignoreTLS: !smtp.secure && !smtp.requireStartTls,
      ...(smtp.auth ? { auth: smtp.auth } : {}),
      tls: { minVersion: 'TLSv1.2' },
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
    });
    this.outcomes = new Counter({
      name: 'vigil_notify_emails_total',
      help: 'Alert e-mails by outcome (sent, failed, no-address)',
      labelNames: ['outcome'],
      registers: [deps.registry],
    });
  }

  /** The alert engine's listener; returns at once. */
  onAlert(alert: Alert, action: AlertAction): void {
    if (this.stopped || !alert.assignedTo) return;
    const isUrgentRaise = action === 'raise' && alert.urgency === 'urgent';
    if (!isUrgentRaise && action !== 'escalate') return;
    const work = this.notify(alert, action === 'raise' ? 'raise' : 'escalate', alert.assignedTo).catch(
      (err: unknown) => this.deps.log.error({ err, alert: alert.id }, 'alert e-mail failed'),
    );
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /** Resolves once every notice started so far is sent or given up. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    await this.idle();
    this.transport.close();
  }

  private async notify(alert: Alert, kind: 'raise' | 'escalate', member: string): Promise<void> {
    const to = await this.deps.addressOf(member);
    if (!to) {
      this.outcomes.inc({ outcome: 'no-address' });
      this.deps.log.info({ alert: alert.id, member }, 'alert holder has no e-mail address; no notice sent');
      return;
    }
    const { subject, text } = composeAlertEmail(kind, alertLink(this.deps.publicUrl(), alert.id));
    const attempts = this.deps.attempts ?? 4;
    let lastError: SmtpFailure = {};
    let outcome: Outcome = 'failed';
    for (let i = 1; i <= attempts && !this.stopped; i++) {
      try {
        await this.transport.sendMail({ from: this.deps.from, to, subject, text });
        outcome = 'sent';
        break;
      } catch (err) {
        lastError = smtpFailure(err);
        if (i < attempts) {
          await sleep((this.deps.retryBaseMs ?? 2000) * 2 ** (i - 1), undefined, {
            signal: this.stopping.signal,
          }).catch(() => undefined);
        }
      }
    }
    this.outcomes.inc({ outcome });
    await this.deps.audit.append({
      actor: 'system:notify',
      action: 'notify.email',
      patientId: alert.patientId,
      resource: `Alert/${alert.id}`,
      purpose: `${kind} notice to ${member}`,
      outcome: outcome === 'sent' ? 'success' : 'failure',
    });
    if (outcome !== 'sent') {
      this.deps.log.warn(
        { alert: alert.id, to: maskEmailAddress(to), error: lastError },
        'alert e-mail not delivered',
      );
    }
  }
}

interface SmtpFailure {
  code?: string;
  responseCode?: number;
  command?: string;
}

/**
 * What went wrong, without the words: an SMTP server's reply (and nodemailer's message built
 * from it) repeats the recipient address, which is personal data and must not reach the logs.
 * The reply code (RFC 5321 §4.2), the step and nodemailer's error code are enough to act on.
 */
function smtpFailure(err: unknown): SmtpFailure {
  const e = (typeof err === 'object' && err !== null ? err : {}) as Record<string, unknown>;
  const out: SmtpFailure = {};
  if (typeof e.code === 'string' && /^[A-Z_]{1,32}$/.test(e.code)) out.code = e.code;
  if (typeof e.responseCode === 'number') out.responseCode = e.responseCode;
  if (typeof e.command === 'string' && /^[A-Z ]{1,16}$/.test(e.command)) out.command = e.command;
  return out;
}
