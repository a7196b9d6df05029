import type { AlertAction } from '../clinical/alerts/alert-engine.ts';
import type { Alert } from '../clinical/alerts/alert-lifecycle.ts';

export const WEBHOOK_EVENTS = [
  'alert.raised',
  'alert.escalated',
  'alert.acknowledged',
  'alert.resolved',
  'device.quarantined',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

const ALERT_EVENTS: Partial<Record<AlertAction, WebhookEvent>> = {
  raise: 'alert.raised',
  escalate: 'alert.escalated',
  acknowledge: 'alert.acknowledged',
  resolve: 'alert.resolved',
};

/** The webhook event for an alert engine action; updates (a worse value) and snoozes send none. */
export function alertEventType(action: AlertAction): WebhookEvent | undefined {
  return ALERT_EVENTS[action];
}

/** Where the dashboard shows an alert: the alerts screen, with the alert picked out. */
export function alertLink(publicUrl: string, alertId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/alerts?alert=${encodeURIComponent(alertId)}`;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * The body of an alert event. It leaves the system, so it carries internal ids, the condition
 * and times and a link to sign in and look, never the measured value or a name: a receiver
 * (a pager, a chat channel) learns that something needs attention, not what the patient's
 * data is. Envelope as the Standard Webhooks spec suggests: { type, timestamp, data }.
 */
export function alertPayload(alert: Alert, type: WebhookEvent, publicUrl: string, nowMs: number): string {
  return JSON.stringify({
    type,
    timestamp: new Date(nowMs).toISOString(),
    data: {
      alertId: alert.id,
      patientId: alert.patientId,
      condition: alert.condition,
      urgency: alert.urgency,
      state: alert.state,
      escalationLevel: alert.escalationLevel,
      onsetAt: iso(alert.onsetMs),
      openedAt: iso(alert.openedMs),
      updatedAt: iso(alert.updatedMs),
      acknowledgedAt: iso(alert.acknowledgedMs),
      resolvedAt: iso(alert.resolvedMs),
      link: alertLink(publicUrl, alert.id),
    },
  });
}

export function quarantinePayload(deviceId: string, publicUrl: string, nowMs: number): string {
  return JSON.stringify({
    type: 'device.quarantined',
    timestamp: new Date(nowMs).toISOString(),
    data: { deviceId, link: `${publicUrl.replace(/\/+$/, '')}/fleet` },
  });
}
