const DAY_MS = 86_400_000;
/** 10000-01-01T00:00:00Z: from here on toISOString writes a six-digit, signed year. */
const YEAR_10000_MS = 253_402_300_800_000;

let cachedDayMs = -1;
let cachedPrefix = '';

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/**
 * `new Date(ms).toISOString()`, about 7x faster for the common case: the live stream writes
 * one timestamp per reading while clients watch, and Date formatting was most of that cost.
 * The date part is cached per UTC day (readings arrive in time order); the rest is arithmetic.
 */
export function isoInstant(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0 || ms >= YEAR_10000_MS) return new Date(ms).toISOString();
  const dayMs = ms - (ms % DAY_MS);
  if (dayMs !== cachedDayMs) {
    cachedDayMs = dayMs;
    cachedPrefix = new Date(dayMs).toISOString().slice(0, 11);
  }
  let rest = ms - dayMs;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  return `${cachedPrefix}${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${pad3(rest - seconds * 1000)}Z`;
}
