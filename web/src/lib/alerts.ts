import type { Alert } from '../api/types.ts';
import type { Tone } from '../components/StatusChip.tsx';

const URGENCY_RANK: Record<string, number> = { urgent: 0, warning: 1 };
const STATE_RANK: Record<string, number> = { open: 0, acknowledged: 1, resolved: 2 };

/** The inbox order: urgent before warning, unhandled before acknowledged, newest first. */
export function byUrgency(a: Alert, b: Alert): number {
  return (
    (URGENCY_RANK[a.urgency] ?? 2) - (URGENCY_RANK[b.urgency] ?? 2) ||
    (STATE_RANK[a.state] ?? 3) - (STATE_RANK[b.state] ?? 3) ||
    Date.parse(b.opened) - Date.parse(a.opened)
  );
}

export function isSnoozed(a: Alert, nowMs = Date.now()): boolean {
  return a.snoozedUntil !== null && Date.parse(a.snoozedUntil) > nowMs;
}

export function urgencyTone(a: Alert): Tone {
  if (a.state === 'resolved') return 'muted';
  return a.urgency === 'urgent' ? 'danger' : 'warning';
}

/**
 * One chip for a patient: the worst unresolved alert decides. A patient who never sent a
 * reading gets a neutral "No data yet", never a reassuring "No open alerts": no alert can be
 * raised without data, so its absence says nothing about the patient.
 */
export function patientAlertSummary(alerts: readonly Alert[], hasData = true): { tone: Tone; label: string } {
  const live = alerts.filter((a) => a.state !== 'resolved');
  const urgent = live.filter((a) => a.urgency === 'urgent').length;
  if (urgent > 0) return { tone: 'danger', label: `${urgent} urgent alert${urgent > 1 ? 's' : ''}` };
  if (live.length > 0) return { tone: 'warning', label: `${live.length} alert${live.length > 1 ? 's' : ''}` };
  if (!hasData) return { tone: 'muted', label: 'No data yet' };
  return { tone: 'ok', label: 'No open alerts' };
}

/** 0: an urgent alert open, 1: another unresolved alert, 2: none. */
function alertRank(alerts: readonly Alert[]): number {
  const live = alerts.filter((a) => a.state !== 'resolved');
  if (live.some((a) => a.urgency === 'urgent')) return 0;
  return live.length > 0 ? 1 : 2;
}

/**
 * The patient list order: patients with an urgent alert first, then those with any other
 * unresolved alert, then the rest; by id within each group, so rows do not jump around.
 */
export function byAlertsThenId<P extends { id: string }>(
  patients: readonly P[],
  alertsOf: (id: string) => readonly Alert[],
): P[] {
  const rank = new Map(patients.map((p) => [p.id, alertRank(alertsOf(p.id))]));
  return [...patients].sort(
    (a, b) => rank.get(a.id)! - rank.get(b.id)! || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/** The unit an alert's value is in, from its condition (rules compare canonical units). */
const CONDITION_UNIT: ReadonlyArray<[prefix: string, unit: string]> = [
  ['glucose', 'mg/dL'],
  ['spo2', '%'],
  ['heart-rate', '/min'],
  ['blood-pressure', 'mmHg'],
  ['temperature', '°C'],
  ['battery', '%'],
];

export function alertValue(a: Alert): string {
  if (a.condition === 'signal-loss') return '';
  const unit = CONDITION_UNIT.find(([prefix]) => a.condition.startsWith(prefix))?.[1] ?? '';
  return `${a.value}${unit ? ` ${unit}` : ''}`;
}
