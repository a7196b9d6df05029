import { VigilError } from '../../errors/catalogue.ts';
import type { AlertCondition, Urgency } from './alert-conditions.ts';
import type { AlertRules } from './alert-rules.ts';

export type AlertState = 'open' | 'acknowledged' | 'resolved';
/** 'erased': the patient was erased (GDPR art. 17) while the alert was unresolved. */
export type Resolution = 'cleared' | 'manual' | 'superseded' | 'erased';

export interface Alert {
  id: string;
  patientId: string;
  condition: AlertCondition;
  /** '' for per-patient conditions; the device for signal loss and battery. */
  deviceId: string;
  urgency: Urgency;
  state: AlertState;
  /** The value that raised it, then the worst one seen (glucose mg/dL, SpO2 %, minutes silent...). */
  value: number;
  openedMs: number;
  updatedMs: number;
  /** Reading time at which the condition was met. */
  onsetMs: number;
  acknowledgedBy: string | null;
  acknowledgedMs: number | null;
  snoozedUntilMs: number | null;
  resolvedMs: number | null;
  resolvedBy: string | null;
  resolution: Resolution | null;
  /** 0: with the first care-team member; n: passed on n times. */
  escalationLevel: number;
  /** Who holds it now (a care-team member), if the patient has a care team. */
  assignedTo: string | null;
  /** When the current holder got it: the escalation clock starts here. */
  assignedMs: number;
}

function refuseState(alert: Alert, action: string): never {
  throw new VigilError(
    'VIGIL_ERR_ALERT_STATE',
    `alert ${alert.id} is ${alert.state}; it cannot be ${action}`,
  );
}

/** Open -> acknowledged: the holder has seen it; escalation stops. */
export function acknowledge(alert: Alert, actor: string, nowMs: number): Alert {
  if (alert.state !== 'open') refuseState(alert, 'acknowledged');
  return {
    ...alert,
    state: 'acknowledged',
    acknowledgedBy: actor,
    acknowledgedMs: nowMs,
    snoozedUntilMs: null,
    updatedMs: nowMs,
  };
}

/**
 * A snooze silences an open alert for a while, never longer than the patient's
 * maxSnoozeMinutes at a time: a snoozed urgent alert must come back, not be forgotten. An urgent
 * one is silenced for urgentRealertMinutes at most, however long was asked for, as an
 * acknowledged one is (realertDue).
 */
export function snooze(alert: Alert, minutes: number, rules: AlertRules, nowMs: number): Alert {
  if (alert.state !== 'open') refuseState(alert, 'snoozed');
  if (!(Number.isInteger(minutes) && minutes >= 1 && minutes <= rules.maxSnoozeMinutes)) {
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `snooze of ${minutes} minutes is not allowed; use 1 to ${rules.maxSnoozeMinutes} minutes`,
    );
  }
  const granted = alert.urgency === 'urgent' ? Math.min(minutes, rules.urgentRealertMinutes) : minutes;
  const until = nowMs + granted * 60_000;
  return { ...alert, snoozedUntilMs: until, assignedMs: until, updatedMs: nowMs };
}

/** An acknowledged urgent alert still unresolved urgentRealertMinutes on is due to come back. */
export function realertDue(alert: Alert, rules: AlertRules, nowMs: number): boolean {
  if (alert.state !== 'acknowledged' || alert.urgency !== 'urgent' || alert.acknowledgedMs === null)
    return false;
  return nowMs - alert.acknowledgedMs >= rules.urgentRealertMinutes * 60_000;
}

/**
 * Acknowledged -> open again, with the first of the care team (or its holder, with no team),
 * and the escalation clock from now: the condition outlasted the answer it got.
 */
export function reopen(alert: Alert, holder: string | undefined, nowMs: number): Alert {
  return {
    ...alert,
    state: 'open',
    acknowledgedBy: null,
    acknowledgedMs: null,
    snoozedUntilMs: null,
    escalationLevel: 0,
    assignedTo: holder ?? alert.assignedTo,
    assignedMs: nowMs,
    updatedMs: nowMs,
  };
}

/** The snooze ran out: the alert is open and in front of its holder again. */
export function endSnooze(alert: Alert, nowMs: number): Alert {
  return { ...alert, snoozedUntilMs: null, updatedMs: nowMs };
}

export function resolve(alert: Alert, by: string, resolution: Resolution, nowMs: number): Alert {
  if (alert.state === 'resolved') refuseState(alert, 'resolved again');
  return {
    ...alert,
    state: 'resolved',
    resolvedMs: nowMs,
    resolvedBy: by,
    resolution,
    snoozedUntilMs: null,
    updatedMs: nowMs,
  };
}

/**
 * An urgent alert still open (not acknowledged, not snoozed) escalateAfterMinutes after its
 * holder got it is due to pass on; whether there is anyone to pass it to is nextHolder's answer.
 */
export function escalationDue(alert: Alert, rules: AlertRules, nowMs: number): boolean {
  if (alert.state !== 'open' || alert.urgency !== 'urgent') return false;
  if (alert.snoozedUntilMs !== null && nowMs < alert.snoozedUntilMs) return false;
  return nowMs - alert.assignedMs >= rules.escalateAfterMinutes * 60_000;
}

/**
 * Who an alert goes to next, on the escalation ladder as it is now: the member after its
 * holder. The last member keeps it (it is not passed round in a circle). A holder no longer on
 * the ladder (their account disabled, their API token expired or revoked, or taken off the
 * team: CareTeamStore.escalationOrder) cannot answer: the member now standing at their place
 * gets it, at once (`isHolderGone`), so no one is skipped.
 */
export function nextHolder(
  alert: Alert,
  ladder: readonly string[],
): { to: string; isHolderGone: boolean } | undefined {
  const at = alert.assignedTo === null ? -1 : ladder.indexOf(alert.assignedTo);
  if (at >= 0) {
    const to = ladder[at + 1];
    return to === undefined ? undefined : { to, isHolderGone: false };
  }
  const to = ladder[Math.min(alert.escalationLevel, ladder.length - 1)];
  return to === undefined ? undefined : { to, isHolderGone: true };
}

export function escalate(alert: Alert, nextHolder: string, nowMs: number): Alert {
  return {
    ...alert,
    escalationLevel: alert.escalationLevel + 1,
    assignedTo: nextHolder,
    assignedMs: nowMs,
    snoozedUntilMs: null,
    updatedMs: nowMs,
  };
}

/** An alert raised while the patient had no care team goes to its first member, at level 0. */
export function assign(alert: Alert, holder: string, nowMs: number): Alert {
  return { ...alert, escalationLevel: 0, assignedTo: holder, assignedMs: nowMs, updatedMs: nowMs };
}
