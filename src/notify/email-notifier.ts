import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { AuditInput } from '../audit/audit-log.ts';
import type { AlertStore, AlertWithoutValue } from '../clinical/alerts/alerts.store.ts';
import { maskEmailAddress } from './email-address.ts';
import type { EmailDelivery, EmailDeliveryStore } from './email-deliveries.store.ts';
import type { SmtpSettings } from './email-smtp-url.ts';
import { StoreBackoff } from './store-backoff.ts';
import { retryDelayMs } from './webhooks-dispatcher.ts';
import { alertLink } from './webhooks-events.ts';

export interface EmailNotifierDeps {
  smtp: SmtpSettings;
  from: string;
  /** Base of links; a function because the port is known only once the server listens. */
  publicUrl: () => string;
  /** The queue the outbox relay fills. */
  queue: Pick<EmailDeliveryStore, 'claimDue' | 'settle'>;
  /** The alerts the rows name, without values: for the audit's patient, and to see one erased. */
  alerts: Pick<AlertStore, 'withoutValues'>;
  /** Whether the patient's consent still lets their alerts leave the system (see NotifyDeps). */
  mayDisclose(patientId: string): Promise<boolean>;
  /** The address of a care-team member (a username), or undefined when they have none. */
  addressOf(member: string): Promise<string | undefined>;
  audit: { append(input: AuditInput): Promise<void> };
  registry: Registry;
  log: Logger;
  /** Attempts per message; failures in between wait about retryBaseMs, then twice that, ... */
  attempts?: number;
  retryBaseMs?: number;
  /** The backstop: the queue is read this often even when nobody kicks (rows due for a retry). */
  pollMs?: number | undefined;
  /** How long a claimed row is this sender's: longer than a send can take (see the timeouts). */
  leaseMs?: number;
  /** How long stop() lets sends in progress finish before it cuts them. */
  stopGraceMs?: number;
  storeRetryBaseMs?: number | undefined;
  now?: () => number;
  random?: () => number;
}

/** Rows in flight at once: one per pooled connection, so none waits in the pool past its lease. */
const MAX_SMTP_CONNECTIONS = 4;
/** About four minutes of retries at the default 2 s base: a relay restarting is waited out. */
const MAX_ATTEMPTS = 8;
/** Connection, greeting and socket timeouts add up to well under this. */
const LEASE_MS = 120_000;

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
 * Sends the queued alert e-mails (email-deliveries.store.ts; the outbox relay queues them). A
 * row is claimed before it is sent, so two servers on one database never both send it; a failed
 * attempt is recorded with its count and next time, so retries go on across restarts, and after
 * `attempts` the notice is given up: logged, counted and audited. Sending runs beside the alert
 * engine, never in its way: a slow or dead mail relay never delays an alert.
 */
export class EmailNotifier {
  private readonly transport: Transporter;
  private readonly outcomes: Counter<'outcome'>;
  private readonly backoff: StoreBackoff;
  private readonly now: () => number;
  /** This sender's name on the rows it claims; a new one each run, as a claim dies with its process. */
  private readonly claimant = `sender-${randomBytes(8).toString('hex')}`;
  private readonly inFlight = new Set<Promise<void>>();
  /** The claim in progress: one at a time, so a burst of kicks claims no more than there is room for. */
  private claiming: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private isStarted = false;
  private isStopped = false;
  /** Set when stop() closes the transport: a send failing after it was cut, not refused. */
  private isClosing = false;

  constructor(private readonly deps: EmailNotifierDeps) {
    const { smtp } = deps;
    this.now = deps.now ?? Date.now;
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
    this.backoff = new StoreBackoff({
      log: deps.log,
      baseMs: deps.storeRetryBaseMs,
      now: this.now,
      random: deps.random ?? Math.random,
      wake: () => this.kick(),
    });
  }

  /** Sends what is due, including what a previous run left queued, then follows kicks and the poll. */
  start(): void {
    if (this.isStarted || this.isStopped) return;
    this.isStarted = true;
    this.timer = setInterval(() => this.kick(), this.deps.pollMs ?? 1000);
    this.kick();
  }

  /** Claims and sends due rows now; the relay calls it once it has queued some. */
  kick(): void {
    if (!this.isStarted || this.isStopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    if (this.backoff.isPaused()) return;
    this.claiming = this.claim()
      .then(() => this.backoff.answered('alert e-mail queue readable again'))
      .catch((err: unknown) => this.backoff.failed(err, 'alert e-mail queue unreadable'))
      .finally(() => {
        this.claiming = undefined;
        if (!this.again) return;
        this.again = false;
        this.kick();
      });
  }

  /** Resolves once nothing is being claimed or sent. */
  async idle(): Promise<void> {
    while (this.claiming || this.inFlight.size > 0) {
      await this.claiming;
      await Promise.allSettled([...this.inFlight]);
    }
  }

  /**
   * Takes no more rows; sends in progress get `stopGraceMs` to finish and are then cut, their
   * rows put back in the queue, due at once, for the next start or another server.
   */
  async stop(): Promise<void> {
    this.isStopped = true;
    if (this.timer) clearInterval(this.timer);
    this.backoff.stop();
    await this.claiming;
    const grace = new AbortController();
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      sleep(this.deps.stopGraceMs ?? 10_000, undefined, { signal: grace.signal }).catch(() => undefined),
    ]);
    grace.abort();
    this.isClosing = true;
    this.transport.close();
    await Promise.allSettled([...this.inFlight]);
  }

  private async claim(): Promise<void> {
    const room = MAX_SMTP_CONNECTIONS - this.inFlight.size;
    if (room <= 0) return;
    const nowMs = this.now();
    const claimed = await this.deps.queue.claimDue(nowMs, room, this.deps.leaseMs ?? LEASE_MS, this.claimant);
    if (claimed.length === 0) return;
    const alerts = await this.deps.alerts.withoutValues([...new Set(claimed.map((d) => d.alertId))]);
    for (const d of claimed) {
      const work = this.attempt(d, alerts.get(d.alertId))
        .catch((err: unknown) =>
          this.deps.log.error({ err, delivery: d.id, alert: d.alertId }, 'alert e-mail failed'),
        )
        .finally(() => {
          this.inFlight.delete(work);
          this.kick();
        });
      this.inFlight.add(work);
    }
  }

  /** Sends one claimed row, unless it may no longer go out or has nobody to go to. */
  private async attempt(d: EmailDelivery, alert: AlertWithoutValue | undefined): Promise<void> {
    if (this.isStopped) return this.letGo(d, 'pending');
    // Gone, its patient erased, or consent withdrawn since it was queued: it may not leave now.
    if (!alert || !(await this.deps.mayDisclose(alert.patientId))) {
      await this.letGo(d, 'withheld');
      this.deps.log.info(
        { alert: d.alertId, kind: d.kind },
        'alert not e-mailed: it may no longer be disclosed',
      );
      return;
    }
    const to = await this.deps.addressOf(d.member);
    if (!to) {
      await this.letGo(d, 'no-address');
      this.outcomes.inc({ outcome: 'no-address' });
      this.deps.log.info(
        { alert: d.alertId, member: d.member },
        'alert holder has no e-mail address; no notice sent',
      );
      return;
    }
    await this.send(d, alert, to);
  }

  /** One attempt, recorded: sent, tried again later, or (after the last attempt) given up. */
  private async send(d: EmailDelivery, alert: AlertWithoutValue, to: string): Promise<void> {
    const { subject, text } = composeAlertEmail(d.kind, alertLink(this.deps.publicUrl(), d.alertId));
    const attempts = d.attempts + 1;
    let failure: SmtpFailure;
    try {
      await this.transport.sendMail({ from: this.deps.from, to, subject, text });
      await this.settle(d, { state: 'sent', attempts, nextAttemptMs: this.now(), error: null });
      this.outcomes.inc({ outcome: 'sent' });
      await this.audited(d, alert, 'success');
      return;
    } catch (err) {
      failure = smtpFailure(err);
    }
    // Cut by stop(), not refused by the relay: no attempt spent, due again at once.
    if (this.isClosing) return this.letGo(d, 'pending');
    const error = JSON.stringify(failure);
    if (attempts < (this.deps.attempts ?? MAX_ATTEMPTS)) {
      const random = (this.deps.random ?? Math.random)();
      const nextAttemptMs = this.now() + retryDelayMs(attempts, this.deps.retryBaseMs ?? 2000, random, null);
      await this.settle(d, { state: 'pending', attempts, nextAttemptMs, error });
      this.backoff.wakeAt(nextAttemptMs);
      return;
    }
    await this.settle(d, { state: 'failed', attempts, nextAttemptMs: this.now(), error });
    this.outcomes.inc({ outcome: 'failed' });
    await this.audited(d, alert, 'failure');
    this.deps.log.warn(
      { alert: d.alertId, to: maskEmailAddress(to), attempts, error: failure },
      'alert e-mail not delivered',
    );
  }

  /** Settles a row without an attempt: back in the queue due at once (`pending`), or done. */
  private letGo(d: EmailDelivery, state: 'pending' | 'withheld' | 'no-address'): Promise<void> {
    return this.settle(d, { state, attempts: d.attempts, nextAttemptMs: this.now(), error: null });
  }

  /**
   * Records the outcome. A claim lost meanwhile (the send outlasted the lease and another sender
   * took the row) is logged: that sender may send it again.
   */
  private async settle(
    d: EmailDelivery,
    outcome: Parameters<EmailDeliveryStore['settle']>[2],
  ): Promise<void> {
    const isMine = await this.deps.queue.settle(d.id, this.claimant, outcome, this.now());
    if (!isMine) {
      this.deps.log.warn(
        { delivery: d.id, alert: d.alertId, state: outcome.state },
        'alert e-mail claim ran out before its outcome was recorded; another sender may repeat it',
      );
    }
  }

  private audited(d: EmailDelivery, alert: AlertWithoutValue, outcome: 'success' | 'failure'): Promise<void> {
    return this.deps.audit.append({
      actor: 'system:notify',
      action: 'notify.email',
      patientId: alert.patientId,
      resource: `Alert/${d.alertId}`,
      purpose: `${d.kind} notice to ${d.member}`,
      outcome,
    });
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
