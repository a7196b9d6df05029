import type { AlertAction } from '../clinical/alerts/alert-engine.ts';
import type { AlertState } from '../clinical/alerts/alert-lifecycle.ts';
import type { AlertWithoutValue } from '../clinical/alerts/alerts.store.ts';
import type { DeviceEvent, DeviceEventType } from '../devices/devices.store.ts';

export const WEBHOOK_EVENTS = [
  'alert.raised',
  'alert.escalated',
  'alert.acknowledged',
  'alert.resolved',
  'device.quarantined',
  'device.released',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export type DeviceWebhookEvent = Extract<WebhookEvent, `device.${string}`>;
export type AlertWebhookEvent = Exclude<WebhookEvent, DeviceWebhookEvent>;

const ALERT_EVENTS: Partial<Record<AlertAction, AlertWebhookEvent>> = {
  raise: 'alert.raised',
  escalate: 'alert.escalated',
  acknowledge: 'alert.acknowledged',
  resolve: 'alert.resolved',
};

/**
 * The webhook event for an alert engine action; updates (a worse value) and snoozes send none.
 * Takes any string: the outbox relay reads actions back from `alert_events`.
 */
export function alertEventType(action: AlertAction | string): AlertWebhookEvent | undefined {
  return Object.hasOwn(ALERT_EVENTS, action) ? ALERT_EVENTS[action as AlertAction] : undefined;
}

/**
 * The state an alert is in right after the step an event announces. Escalation (and the end of
 * a snooze, sent as an escalation) only ever happens to an open alert.
 */
const STATE_AFTER: Record<AlertWebhookEvent, AlertState> = {
  'alert.raised': 'open',
  'alert.escalated': 'open',
  'alert.acknowledged': 'acknowledged',
  'alert.resolved': 'resolved',
};

export function alertStateAfter(type: AlertWebhookEvent): AlertState {
  return STATE_AFTER[type];
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
export function alertPayload(
  alert: AlertWithoutValue,
  type: WebhookEvent,
  publicUrl: string,
  atMs: number,
): string {
  return JSON.stringify({
    type,
    timestamp: new Date(atMs).toISOString(),
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

const DEVICE_EVENTS: Record<DeviceEventType, DeviceWebhookEvent> = {
  quarantined: 'device.quarantined',
  released: 'device.released',
};

export function deviceEventType(type: DeviceEventType): DeviceWebhookEvent {
  return DEVICE_EVENTS[type];
}

/**
 * The body of a quarantine or release, timed when it happened. The reason stays out: it is an
 * operator's free text, and may say more about a ward or a patient than should leave the system.
 */
export function deviceEventPayload(event: DeviceEvent, publicUrl: string): string {
  return JSON.stringify({
    type: deviceEventType(event.type),
    timestamp: new Date(event.atMs).toISOString(),
    data: { deviceId: event.deviceId, link: `${publicUrl.replace(/\/+$/, '')}/fleet` },
  });
}
