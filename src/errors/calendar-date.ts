/**
 * Midnight UTC of a YYYY-MM-DD day that exists in the calendar, or undefined. Date.parse rolls
 * an impossible day over (2026-02-31 becomes 2026-03-03): a birth date or an end of support
 * would move without a word.
 */
export function calendarDayMs(value: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return undefined;
  // setUTCFullYear, unlike Date.UTC, keeps years 0-99 as written.
  const ms = new Date(0).setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(ms).toISOString().slice(0, 10) === value ? ms : undefined;
}
