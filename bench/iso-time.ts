/**
 * `new Date(ms).toISOString()`, for the load generator's hot path. Each simulated message
 * carries eleven timestamps, and V8's toISOString made building the payload a third of the
 * generator's CPU (a CPU profile of `npm run bench -- --only e2e`, 2026-11-27): CPU taken from
 * the server it shares the cores with. The date and hour and minute are formatted once per
 * minute and kept; only seconds and milliseconds are written per call.
 */
const MINUTE_MS = 60_000;

let cachedMinute = Number.NaN;
let cachedPrefix = '';

export function isoTime(ms: number): string {
  const minute = Math.floor(ms / MINUTE_MS) * MINUTE_MS;
  if (minute !== cachedMinute) {
    // "YYYY-MM-DDTHH:MM:" from the real formatter, so calendars and years stay V8's business.
    cachedPrefix = new Date(minute).toISOString().slice(0, 17);
    cachedMinute = minute;
  }
  const rest = ms - minute;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  return `${cachedPrefix}${seconds < 10 ? '0' : ''}${seconds}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}
