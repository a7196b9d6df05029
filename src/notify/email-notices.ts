import type { DisclosableStep } from './disclosable-alert-steps.ts';
import type { EmailNotice } from './email-deliveries.store.ts';

/**
 * The e-mails a run of alert events calls for, in event order: an urgent alert's raise tells its
 * holder, an escalation (including a care team found late, and a snooze running out) tells the
 * new holder. These are the rules the live listener followed before the outbox.
 *
 * The holder is the alert's as the relay reads it; an event does not record it. When the relay
 * runs right after the step (the engine kicks it) that is the step's holder. When it catches up
 * on several steps at once (after a restart), a step whose alert was handed on again by a later
 * one among them is not mailed: its holder no longer holds the alert, and the later step tells
 * the one who does.
 */
export function emailNoticesOf(steps: readonly DisclosableStep[]): EmailNotice[] {
  const lastHandOver = new Map<string, number>();
  for (const { event } of steps) {
    if (isHandOver(event.action)) lastHandOver.set(event.alertId, event.id);
  }
  const out: EmailNotice[] = [];
  for (const { event, alert } of steps) {
    const kind = event.action === 'raise' ? 'raise' : event.action === 'escalate' ? 'escalate' : undefined;
    if (!kind || !alert.assignedTo || lastHandOver.get(event.alertId) !== event.id) continue;
    if (kind === 'raise' && alert.urgency !== 'urgent') continue;
    out.push({ alertId: alert.id, eventId: event.id, kind, member: alert.assignedTo });
  }
  return out;
}

function isHandOver(action: string): boolean {
  return action === 'raise' || action === 'escalate';
}
