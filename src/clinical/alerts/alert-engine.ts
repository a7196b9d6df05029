import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { SecurityEventInput } from '../../detection/security-events.ts';
import { VigilError } from '../../errors/catalogue.ts';
import type { CareTeamStore } from '../care-teams.store.ts';
import type { Reading } from '../readings-codec.ts';
import { type AlertSignal, urgencyOf } from './alert-conditions.ts';
import { AlertCore, type CoreEvent, type StoredMessage } from './alert-core.ts';
import type { Alert } from './alert-lifecycle.ts';
import * as lifecycle from './alert-lifecycle.ts';
import {
  type AlertRuleOverrides,
  type AlertRules,
  effectiveRules,
  parseRuleOverrides,
} from './alert-rules.ts';
import type { AlertEvent, AlertFilter, AlertStore } from './alerts.store.ts';

export interface Clock {
  now(): number;
}

export interface AlertEngineDeps {
  store: AlertStore;
  careTeams: CareTeamStore;
  audit: AuditLog;
  security: { record(e: SecurityEventInput): void };
  /** Who wore the device at a time (the device directory answers from memory). */
  patientAt(deviceId: string, tsMs: number): string | undefined;
  clock?: Clock;
  /** How often signal loss, escalation and snoozes are checked; 0: only when tick() is called. */
  tickMs?: number;
  log?: Logger;
}

export type AlertAction = 'raise' | 'update' | 'resolve' | 'acknowledge' | 'snooze' | 'escalate';
const SYSTEM = 'system:alerts';
/** A data-quality notice closes after an hour without another questionable reading. */
const NOTICE_QUIET_MS = 3_600_000;

const keyOf = (patientId: string, condition: string, deviceId: string) =>
  `${patientId}|${condition}|${deviceId}`;

/**
 * The thin layer around the pure rule core: it feeds the core stored messages, device
 * status and clock ticks, and turns the core's events into alert rows, history, audit
 * entries, notices and security events. Every write goes through one queue, in order, so the
 * ingest path only pays for the (synchronous, allocation-light) rule evaluation.
 */
export class AlertEngine {
  private readonly core: AlertCore;
  private readonly clock: Clock;
  private readonly rules = new Map<string, AlertRules>();
  private readonly overrides = new Map<string, AlertRuleOverrides>();
  /** Unresolved alerts by patient|condition|device: at most one each. */
  private readonly unresolved = new Map<string, Alert>();
  private readonly listeners: Array<(alert: Alert, action: AlertAction) => void> = [];
  private tail: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: AlertEngineDeps) {
    this.clock = deps.clock ?? { now: () => Date.now() };
    this.core = new AlertCore((patientId) => this.rulesFor(patientId));
  }

  /** Loads overrides and unresolved alerts, watches assigned devices, starts the timer. */
  async start(
    assigned: Array<{ deviceId: string; patientId: string; lastSeenMs: number | null }>,
  ): Promise<void> {
    for (const [patientId, o] of await this.deps.store.ruleOverrides()) this.overrides.set(patientId, o);
    const now = this.clock.now();
    // Silence while the server was down is the server's, not the devices': each gets a fresh
    // grace period from start (an alert left open at shutdown is restored below).
    for (const d of assigned) this.core.watchDevice(d.deviceId, d.patientId, now);
    const reassigned: Alert[] = [];
    for (const a of await this.deps.store.unresolved()) {
      this.unresolved.set(keyOf(a.patientId, a.condition, a.deviceId), a);
      const deviceId = a.deviceId === '' ? undefined : a.deviceId;
      if (!this.core.restore(a.patientId, a.condition, deviceId, a.value, now)) reassigned.push(a);
    }
    for (const a of reassigned) {
      try {
        await this.save(lifecycle.resolve(a, SYSTEM, 'cleared', now), 'resolve', SYSTEM, 'device reassigned');
      } catch (err) {
        await this.failed(err, a.patientId, 'resolving a reassigned device alert failed');
      }
    }
    // Erased from the console while no server ran: resolved as erased, their condition cleared.
    for (const patientId of await this.deps.store.erasedWithUnresolved()) await this.forgetPatient(patientId);
    const tickMs = this.deps.tickMs ?? 5000;
    if (tickMs > 0) this.timer = setInterval(() => void this.tick(), tickMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.idle();
  }

  /** Resolves once every event so far is written. */
  async idle(): Promise<void> {
    let seen: Promise<unknown> | undefined;
    while (seen !== this.tail) {
      seen = this.tail;
      await seen;
    }
  }

  /**
   * Watches devices assigned since start-up for signal loss, from the assignment on: a device
   * put on a patient that never reports is as silent as one that stopped.
   */
  watchAssigned(assigned: Array<{ deviceId: string; patientId: string }>): void {
    const now = this.clock.now();
    for (const d of assigned) this.core.watchDevice(d.deviceId, d.patientId, now);
  }

  subscribe(listener: (alert: Alert, action: AlertAction) => void): void {
    this.listeners.push(listener);
  }

  /** Counts of unresolved alerts, from memory (for the demo's status line and metrics). */
  summary(): { open: number; urgent: number; acknowledged: number } {
    let open = 0;
    let urgent = 0;
    let acknowledged = 0;
    for (const a of this.unresolved.values()) {
      if (a.state === 'acknowledged') acknowledged++;
      else open++;
      if (a.urgency === 'urgent' && a.state === 'open') urgent++;
    }
    return { open, urgent, acknowledged };
  }

  rulesFor(patientId: string): AlertRules {
    let rules = this.rules.get(patientId);
    if (!rules) {
      rules = effectiveRules(this.overrides.get(patientId));
      this.rules.set(patientId, rules);
    }
    return rules;
  }

  overridesFor(patientId: string): AlertRuleOverrides {
    return { ...this.overrides.get(patientId) };
  }

  /** Whether the rules judged a reading of a message seen by onStored questionable. */
  isQuestionable(r: Reading): boolean {
    return this.core.isQuestionable(r);
  }

  /** Called for every durably stored message; the rule evaluation runs here, synchronously. */
  onStored(m: StoredMessage): void {
    const out: CoreEvent[] = [];
    try {
      this.core.observeMessage(m, this.clock.now(), out);
    } catch (err) {
      // The message is already stored and must be acknowledged: a rule fault is logged, not thrown.
      this.deps.log?.error({ err, deviceId: m.deviceId }, 'alert evaluation failed');
    }
    if (out.length > 0) this.enqueue(() => this.apply(out));
  }

  /** `receivedMs` is the server's wall clock at receipt, to judge the device's clock against. */
  onStatus(
    deviceId: string,
    status: { tsMs: number; batteryPercent?: number | undefined },
    receivedMs = Date.now(),
  ): void {
    const now = this.clock.now();
    const out: CoreEvent[] = [];
    this.core.observeStatus(deviceId, this.deps.patientAt(deviceId, now), status, receivedMs, now, out);
    if (out.length > 0) this.enqueue(() => this.apply(out));
  }

  /** Signal loss, escalation of unacknowledged urgent alerts, and quiet notices. */
  tick(): Promise<void> {
    return this.enqueue(async () => {
      const now = this.clock.now();
      const out: CoreEvent[] = [];
      this.core.tick(now, (deviceId) => this.deps.patientAt(deviceId, now), out);
      await this.apply(out);
      await this.endSnoozes(now);
      await this.realert(now);
      await this.escalate(now);
      await this.deps.store.clearQuietNotices(now - NOTICE_QUIET_MS, now);
    });
  }

  async setRules(
    patientId: string,
    input: unknown,
    actor: string,
  ): Promise<{ overrides: AlertRuleOverrides; rules: AlertRules }> {
    const parsed = parseRuleOverrides(input);
    return this.enqueue(async () => {
      await this.deps.store.setRuleOverrides(patientId, parsed.overrides, actor, this.clock.now());
      this.overrides.set(patientId, parsed.overrides);
      this.rules.set(patientId, parsed.rules);
      this.core.setRules(patientId, parsed.rules);
      await this.audit(actor, 'alert-rules.update', patientId, `Patient/${patientId}/AlertRules`);
      return parsed;
    });
  }

  /**
   * The patient was erased: their unresolved alerts resolve ('erased') and leave memory, so no
   * tick, escalation or listener touches a row whose key is gone. Safe to call again.
   */
  forgetPatient(patientId: string, actor = SYSTEM): Promise<void> {
    return this.enqueue(async () => {
      const now = this.clock.now();
      this.dropFromMemory(patientId);
      for (const id of await this.deps.store.resolveErased(patientId, actor, now)) {
        await this.deps.store.addEvent(id, { ts: now, actor, action: 'resolve', detail: 'patient erased' });
      }
    });
  }

  list(filter: AlertFilter): Promise<Alert[]> {
    return this.deps.store.list(filter);
  }

  async get(id: string): Promise<Alert> {
    const alert = await this.deps.store.get(id);
    if (!alert) throw new VigilError('VIGIL_ERR_ALERT_UNKNOWN', `alert ${id.slice(0, 64)} does not exist`);
    return alert;
  }

  events(id: string) {
    return this.deps.store.events(id);
  }

  acknowledge(id: string, actor: string): Promise<Alert> {
    return this.act(
      id,
      actor,
      'acknowledge',
      (a, now) => lifecycle.acknowledge(a, actor, now),
      'acknowledged',
    );
  }

  snooze(id: string, minutes: number, actor: string): Promise<Alert> {
    return this.act(
      id,
      actor,
      'snooze',
      (a, now) => lifecycle.snooze(a, minutes, this.rulesFor(a.patientId), now),
      (next, now) => {
        const granted = Math.round(((next.snoozedUntilMs ?? now) - now) / 60_000);
        return granted < minutes
          ? `snoozed for ${granted} min (urgent: at most ${granted}, not ${minutes})`
          : `snoozed for ${minutes} min`;
      },
    );
  }

  resolve(id: string, actor: string): Promise<Alert> {
    return this.act(
      id,
      actor,
      'resolve',
      (a, now) => lifecycle.resolve(a, actor, 'manual', now),
      'resolved by hand',
    );
  }

  private act(
    id: string,
    actor: string,
    action: AlertAction,
    change: (a: Alert, nowMs: number) => Alert,
    detail: string | ((next: Alert, nowMs: number) => string),
  ): Promise<Alert> {
    return this.enqueue(async () => {
      const current = await this.get(id);
      const now = this.clock.now();
      const next = change(current, now);
      await this.save(next, action, actor, typeof detail === 'string' ? detail : detail(next, now));
      if (next.state === 'resolved') {
        // Met afresh, the condition raises a new alert; until then it stays quiet.
        this.core.forget(next.patientId, next.condition, next.deviceId === '' ? undefined : next.deviceId);
      }
      return next;
    });
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work);
    this.tail = run.catch((err: unknown) => {
      this.deps.log?.error({ err }, 'alert engine write failed');
    });
    return run;
  }

  private async apply(events: CoreEvent[]): Promise<void> {
    for (const e of events) {
      try {
        await this.applyOne(e);
      } catch (err) {
        // One bad event (an erased patient's key is gone) must not cost other patients theirs.
        await this.failed(err, e.patientId, 'alert event not applied');
      }
    }
  }

  private async applyOne(e: CoreEvent): Promise<void> {
    if (e.type !== 'quality') return this.applySignal(e.patientId, e.signal);
    const isNew = await this.deps.store.noteQuality(e);
    if (!isNew) return;
    this.deps.security.record({
      code: 'VIGIL_ERR_DATA_QUESTIONABLE',
      detail: `device ${e.deviceId} sent questionable readings (${e.issue}); they raise no urgent alert on their own`,
      deviceId: e.deviceId,
    });
    await this.audit(SYSTEM, 'data-quality.notice', e.patientId, `Device/${e.deviceId}`);
  }

  private async applySignal(patientId: string, s: AlertSignal): Promise<void> {
    const deviceId = s.deviceId ?? '';
    const key = keyOf(patientId, s.condition, deviceId);
    const current = this.unresolved.get(key);
    const now = this.clock.now();
    if (s.kind === 'clear') {
      if (!current) return;
      const superseded =
        s.condition === 'glucose-predicted-urgent-low' &&
        this.unresolved.has(keyOf(patientId, 'glucose-urgent-low', ''));
      const next = lifecycle.resolve(current, SYSTEM, superseded ? 'superseded' : 'cleared', now);
      return this.save(
        next,
        'resolve',
        SYSTEM,
        superseded ? 'superseded by the urgent low' : 'condition cleared',
      );
    }
    if (current) {
      // One unresolved alert per condition: a repeat breach updates it, it is not raised again.
      return this.save({ ...current, value: s.value, updatedMs: now }, 'update', SYSTEM, 'worse value');
    }
    if (s.kind === 'update') return;
    let alert: Alert;
    try {
      alert = await this.raise(patientId, s, now);
    } catch (err) {
      // The core counted the condition as raised before the write: left so, every later reading
      // would be an update of a row that does not exist, silent for the whole episode. Forgotten,
      // the next reading that meets the condition raises it again.
      this.core.forget(patientId, s.condition, s.deviceId);
      throw err;
    }
    this.unresolved.set(key, alert);
    await this.announce(alert, 'raise', SYSTEM);
  }

  /** Writes a new alert with its history, assigned to the first of the care team. */
  private async raise(patientId: string, s: AlertSignal & { kind: 'raise' }, now: number): Promise<Alert> {
    const ladder = await this.deps.careTeams.escalationOrder(patientId, now);
    const alert: Alert = {
      id: randomUUID(),
      patientId,
      condition: s.condition,
      deviceId: s.deviceId ?? '',
      urgency: urgencyOf(s.condition),
      state: 'open',
      value: s.value,
      openedMs: now,
      updatedMs: now,
      onsetMs: s.tsMs,
      acknowledgedBy: null,
      acknowledgedMs: null,
      snoozedUntilMs: null,
      resolvedMs: null,
      resolvedBy: null,
      resolution: null,
      escalationLevel: 0,
      assignedTo: ladder[0] ?? null,
      assignedMs: now,
    };
    const detail = alert.assignedTo ? `raised, sent to ${alert.assignedTo}` : 'raised';
    await this.deps.store.saveStep(alert, { isNew: true, event: this.eventOf('raise', SYSTEM, detail) });
    return alert;
  }

  private async escalate(now: number): Promise<void> {
    const ladders = new Map<string, string[]>();
    for (const alert of [...this.unresolved.values()]) {
      if (alert.state !== 'open' || alert.urgency !== 'urgent') continue;
      let ladder = ladders.get(alert.patientId);
      if (!ladder) {
        ladder = await this.deps.careTeams.escalationOrder(alert.patientId, now);
        ladders.set(alert.patientId, ladder);
      }
      const first = ladder[0];
      // Raised before the patient had a care team: the first member gets it, nobody is skipped.
      const isUnassigned = alert.assignedTo === null && first !== undefined;
      const next = isUnassigned ? undefined : lifecycle.nextHolder(alert, ladder);
      if (!isUnassigned) {
        if (next === undefined) continue;
        const isDue =
          next.isHolderGone || lifecycle.escalationDue(alert, this.rulesFor(alert.patientId), now);
        if (!isDue) continue;
      }
      try {
        if (isUnassigned) {
          await this.save(
            lifecycle.assign(alert, first, now),
            'escalate',
            SYSTEM,
            `care team found; sent to ${first}`,
          );
          continue;
        }
        const { to, isHolderGone } = next as { to: string; isHolderGone: boolean };
        await this.save(
          lifecycle.escalate(alert, to, now),
          'escalate',
          SYSTEM,
          isHolderGone
            ? `${alert.assignedTo} can no longer answer (off the team, account disabled, or API token expired or revoked); passed to ${to}`
            : `not acknowledged in time; escalated to ${to}`,
        );
      } catch (err) {
        // Another patient's urgent alert still escalates on this tick.
        await this.failed(err, alert.patientId, 'alert escalation failed');
      }
    }
  }

  /**
   * A snooze that ran out puts the alert back in front of its holder, who is told again (as an
   * escalation to the same holder: there may be nobody further up the ladder to pass it to).
   */
  private async endSnoozes(now: number): Promise<void> {
    for (const alert of [...this.unresolved.values()]) {
      if (alert.state !== 'open' || alert.snoozedUntilMs === null || now < alert.snoozedUntilMs) continue;
      try {
        await this.save(
          lifecycle.endSnooze(alert, now),
          'escalate',
          SYSTEM,
          alert.assignedTo ? `snooze ended; back with ${alert.assignedTo}` : 'snooze ended',
        );
      } catch (err) {
        await this.failed(err, alert.patientId, 'snooze end failed');
      }
    }
  }

  /**
   * An acknowledged urgent alert still unresolved urgentRealertMinutes after the answer: the
   * condition outlasted it (a low acknowledged at 53 mg/dL that fell to 40). It goes back to the
   * first of the care team, open, as an escalation step, so it is paged and escalates again.
   * A worse value alone does not bring it back sooner: the holder knows the episode is on.
   */
  private async realert(now: number): Promise<void> {
    for (const alert of [...this.unresolved.values()]) {
      const rules = this.rulesFor(alert.patientId);
      if (!lifecycle.realertDue(alert, rules, now)) continue;
      try {
        const [first] = await this.deps.careTeams.escalationOrder(alert.patientId, now);
        const next = lifecycle.reopen(alert, first, now);
        await this.save(
          next,
          'escalate',
          SYSTEM,
          `still active ${rules.urgentRealertMinutes} min after acknowledgement by ${alert.acknowledgedBy}; ${next.assignedTo ? `back with ${next.assignedTo}` : 'open again'}`,
        );
      } catch (err) {
        await this.failed(err, alert.patientId, 'urgent re-alert failed');
      }
    }
  }

  /** Logs a per-alert fault; an erased patient's alerts leave memory so it does not recur. */
  private async failed(err: unknown, patientId: string, message: string): Promise<void> {
    this.deps.log?.error({ err, patientId }, message);
    const isErased = await this.deps.store.isPatientErased(patientId).catch(() => false);
    if (isErased) this.dropFromMemory(patientId);
  }

  private dropFromMemory(patientId: string): void {
    for (const [key, a] of this.unresolved) if (a.patientId === patientId) this.unresolved.delete(key);
    this.core.forgetPatient(patientId);
  }

  private async save(next: Alert, action: AlertAction, actor: string, detail: string): Promise<void> {
    // Worse values are kept on the row but are not history: one event per episode step.
    const isStep = action !== 'update';
    await this.deps.store.saveStep(next, {
      isNew: false,
      ...(isStep ? { event: this.eventOf(action, actor, detail) } : {}),
    });
    const key = keyOf(next.patientId, next.condition, next.deviceId);
    if (next.state === 'resolved') this.unresolved.delete(key);
    else this.unresolved.set(key, next);
    if (isStep) await this.announce(next, action, actor);
    else for (const l of this.listeners) l(next, action);
  }

  private eventOf(action: AlertAction, actor: string, detail: string): AlertEvent {
    return { ts: this.clock.now(), actor, action, detail };
  }

  /** A step written with its history event: audited, then told to the listeners. */
  private async announce(alert: Alert, action: AlertAction, actor: string): Promise<void> {
    await this.audit(actor, `alert.${action}`, alert.patientId, `Alert/${alert.id}`);
    for (const l of this.listeners) l(alert, action);
  }

  private audit(actor: string, action: string, patientId: string, resource: string): Promise<void> {
    return this.deps.audit.append(
      { actor, action, patientId, resource, outcome: 'success' },
      this.clock.now(),
    );
  }
}
