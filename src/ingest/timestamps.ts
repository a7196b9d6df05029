import { VigilError } from '../errors/catalogue.ts';
import { fieldLabel, jsonTypeName } from './detail-text.ts';

/** The span of device timestamps the server accepts around its own clock. */
export interface ClockWindow {
  nowMs: number;
  maxFutureMs: number;
  maxPastMs: number;
}

const MS_PER_DAY = 86_400_000;
/** DESIGN.md "Device protocol": timestamps more than 5 minutes ahead are refused. */
export const DEFAULT_MAX_FUTURE_MS = 5 * 60_000;
/** How far back a device may backfill readings it buffered while offline. */
export const DEFAULT_MAX_PAST_MS = 30 * MS_PER_DAY;
const SHORTEST = 'YYYY-MM-DDTHH:MM:SSZ'.length;
const LONGEST = 'YYYY-MM-DDTHH:MM:SS.fffffffff+HH:MM'.length;
const EXAMPLE = '"2026-11-22T10:15:00.000Z"';

/** The clock window for limits with optional bounds, defaults filled in. */
export function clockWindow(limits: {
  nowMs: number;
  maxFutureMs?: number;
  maxPastMs?: number;
}): ClockWindow {
  const window = {
    nowMs: limits.nowMs,
    maxFutureMs: limits.maxFutureMs ?? DEFAULT_MAX_FUTURE_MS,
    maxPastMs: limits.maxPastMs ?? DEFAULT_MAX_PAST_MS,
  };
  // A NaN bound would make every comparison false and let any timestamp through: fail closed.
  if (!Number.isFinite(window.nowMs + window.maxFutureMs + window.maxPastMs)) {
    throw new VigilError(
      'VIGIL_ERR_INTERNAL',
      'decode limits: nowMs, maxFutureMs and maxPastMs must be finite',
    );
  }
  return window;
}

/**
 * Parses an RFC 3339 §5.6 date-time to epoch milliseconds, or NaN. Deliberately narrower than
 * `Date.parse`, which also takes '2026', 'Nov 22' or a zone-less local time, each of which
 * would silently store a reading at the wrong instant:
 * - the full date, 'T', and time to the second are required; a fraction of 1-9 digits is
 *   optional and truncated to milliseconds;
 * - 'Z' or a numeric offset is required ('-00:00' reads as UTC, RFC 3339 §4.3);
 * - only the uppercase 'T' and 'Z' that RFC 3339 and ISO 8601 share, so every other parser
 *   downstream reads the same instant;
 * - calendar-checked (no 2026-02-30, no 24:00), and no leap second: POSIX time, and therefore
 *   every store, has no 23:59:60.
 */
export function parseRfc3339Ms(text: string): number {
  const length = text.length;
  if (length < SHORTEST || length > LONGEST) return Number.NaN;
  const year = fourDigits(text, 0);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  if (
    text.charCodeAt(4) !== 0x2d /* - */ ||
    text.charCodeAt(7) !== 0x2d ||
    text.charCodeAt(10) !== 0x54 /* T */ ||
    text.charCodeAt(13) !== 0x3a /* : */ ||
    text.charCodeAt(16) !== 0x3a ||
    year < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    hour < 0 ||
    minute < 0 ||
    second < 0
  ) {
    return Number.NaN;
  }
  let pos = 19;
  let fractionMs = 0;
  if (text.charCodeAt(pos) === 0x2e /* . */) {
    const start = ++pos;
    let scale = 100;
    for (let d = digitAt(text, pos); d >= 0; d = digitAt(text, ++pos)) {
      fractionMs += d * scale;
      scale /= 10;
    }
    if (pos === start || pos - start > 9) return Number.NaN;
    fractionMs = Math.floor(fractionMs);
  }
  const offsetMinutes = parseOffset(text, pos);
  if (Number.isNaN(offsetMinutes)) return Number.NaN;
  const days = daysFromCivil(year, month, day);
  return days * MS_PER_DAY + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + fractionMs;
}

/** 'Z' or ±HH:MM ending the string, as minutes east of UTC; NaN otherwise. */
function parseOffset(text: string, pos: number): number {
  const sign = text.charCodeAt(pos);
  if (sign === 0x5a /* Z */) return pos + 1 === text.length ? 0 : Number.NaN;
  if ((sign !== 0x2b /* + */ && sign !== 0x2d) /* - */ || pos + 6 !== text.length) return Number.NaN;
  const hours = twoDigits(text, pos + 1);
  const minutes = twoDigits(text, pos + 4);
  if (text.charCodeAt(pos + 3) !== 0x3a || hours < 0 || hours > 23 || minutes < 0 || minutes > 59) {
    return Number.NaN;
  }
  const total = hours * 60 + minutes;
  return sign === 0x2b ? total : -total;
}

/**
 * Reads an optional-or-required timestamp field and checks it against the clock window.
 * `index` is the reading's position, or -1 for a top-level field (see fieldLabel).
 */
export function readTimestamp(value: unknown, window: ClockWindow, key: string, index: number): number {
  if (typeof value !== 'string') {
    const problem = value === undefined ? 'is missing' : `must be a string, got ${jsonTypeName(value)}`;
    throw new VigilError('VIGIL_ERR_INGEST_BAD_SHAPE', `${fieldLabel(key, index)} ${problem}`);
  }
  const tsMs = parseRfc3339Ms(value);
  if (Number.isNaN(tsMs)) {
    // The text is not quoted: a timestamp of a measurement is patient data.
    throw new VigilError(
      'VIGIL_ERR_INGEST_BAD_SHAPE',
      `${fieldLabel(key, index)} is not an RFC 3339 date-time with a zone, such as ${EXAMPLE}`,
    );
  }
  checkClockWindow(tsMs, window, key, index);
  return tsMs;
}

export function checkClockWindow(tsMs: number, window: ClockWindow, key: string, index: number): void {
  if (tsMs > window.nowMs + window.maxFutureMs) {
    // The skew is the device clock's error, not patient data, and says how far to correct it.
    const aheadSeconds = Math.ceil((tsMs - window.nowMs) / 1000);
    throw new VigilError(
      'VIGIL_ERR_INGEST_FUTURE',
      `${fieldLabel(key, index)} is ${aheadSeconds} s ahead of the server clock; at most ` +
        `${Math.floor(window.maxFutureMs / 1000)} s is accepted (check the device's time sync)`,
    );
  }
  if (tsMs < window.nowMs - window.maxPastMs) {
    throw new VigilError(
      'VIGIL_ERR_INGEST_TOO_OLD',
      `${fieldLabel(key, index)} is older than the backfill window of ${describeSpan(window.maxPastMs)}`,
    );
  }
}

function describeSpan(ms: number): string {
  if (ms % MS_PER_DAY === 0) return `${ms / MS_PER_DAY} days`;
  return `${Math.floor(ms / 1000)} s`;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The digit at `pos`, or -1 (also past the end: charCodeAt gives NaN there). */
function digitAt(text: string, pos: number): number {
  const d = text.charCodeAt(pos) - 0x30;
  return d >= 0 && d <= 9 ? d : -1;
}

function twoDigits(text: string, pos: number): number {
  const a = digitAt(text, pos);
  const b = digitAt(text, pos + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

function fourDigits(text: string, pos: number): number {
  const high = twoDigits(text, pos);
  const low = twoDigits(text, pos + 2);
  return high < 0 || low < 0 ? -1 : high * 100 + low;
}
