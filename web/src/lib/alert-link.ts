/**
 * Alert links in e-mails and webhooks are `<publicUrl>/alerts?alert=<id>`
 * (src/notify/webhooks-events.ts alertLink). Mail already sent carries that form, so it stays
 * the one the inbox reads. Alert ids are UUIDs (the server's AlertId pattern); anything else
 * in the parameter is ignored rather than sent to the API.
 */
const ALERT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function alertIdFromSearch(search: string): string | undefined {
  // URLSearchParams takes any string (a leading "?" included) and never throws.
  const value = new URLSearchParams(search).get('alert');
  if (value === null) return undefined;
  const id = value.trim().toLowerCase();
  return ALERT_ID.test(id) ? id : undefined;
}
