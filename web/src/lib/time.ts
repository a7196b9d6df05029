/**
 * The one way the dashboard writes a time: 24-hour, ISO-like dates (2026-12-04 19:29:58) and
 * the zone as an offset (UTC+01:00), which, unlike "CET" or "7:22pm 12/4/26", reads the same
 * in every locale and cannot be taken for another day or another zone.
 */
type When = string | number | Date;

const pad = (n: number) => String(n).padStart(2, '0');
const toDate = (when: When) => (when instanceof Date ? when : new Date(when));

/** "UTC+01:00": the browser's offset from UTC at that instant (summer time included). */
export function zoneLabel(when: When = Date.now()): string {
  const offsetMin = -toDate(when).getTimezoneOffset();
  const abs = Math.abs(offsetMin);
  return `UTC${offsetMin < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** "2026-12-04" in the browser's zone. */
export function dayOf(when: When): string {
  const d = toDate(when);
  if (!Number.isFinite(d.getTime())) return 'unknown';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** "19:29:58" (or "19:29" without seconds), 24-hour, in the browser's zone. */
export function clock(when: When, opts: { seconds?: boolean } = {}): string {
  const d = toDate(when);
  if (!Number.isFinite(d.getTime())) return 'unknown';
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return opts.seconds === false ? hm : `${hm}:${pad(d.getSeconds())}`;
}

/** "2026-12-04 19:29:58 UTC+01:00": an exact time, wherever one is shown or offered on hover. */
export function exactTime(when: When, opts: { seconds?: boolean; zone?: boolean } = {}): string {
  const d = toDate(when);
  if (!Number.isFinite(d.getTime())) return 'unknown';
  const text = `${dayOf(d)} ${clock(d, opts)}`;
  return opts.zone === false ? text : `${text} ${zoneLabel(d)}`;
}

/** "12 s ago", "5 min ago", "3 h ago", else the date and time: how recent, at a glance. */
export function ago(iso: string | null, nowMs = Date.now()): string {
  if (!iso) return 'never';
  const ms = nowMs - Date.parse(iso);
  if (!Number.isFinite(ms)) return 'unknown';
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))} s ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min ago`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)} h ago`;
  return exactTime(iso, { seconds: false, zone: false });
}

/** How often relative times ("12 s ago") are written again while nothing else redraws them. */
export const TICK_MS = 5000;

/**
 * A continuous vital (heart rate, SpO2, glucose from a CGM) arrives every few seconds to
 * minutes; one older than this is no longer the patient's current state and is marked old.
 */
export const OLD_READING_MS = 5 * 60_000;
