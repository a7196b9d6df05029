/**
 * The events a URL may subscribe to, in the server's order (WEBHOOK_EVENTS of
 * src/notify/webhooks-events.ts). The web app does not import server code, and the API does
 * not list them, so test/dashboard-webhooks-e2e.test.ts checks the two lists are the same;
 * this file stays free of React so that test can import it.
 */
export const WEBHOOK_EVENTS = [
  'alert.raised',
  'alert.escalated',
  'alert.acknowledged',
  'alert.resolved',
  'device.quarantined',
  'device.released',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
