/**
 * Property tests of the end-of-support date a device model is given (STYLE.md 13), read by
 * calendarDateMs through modelFrom: exactly the days of the proleptic Gregorian calendar
 * written YYYY-MM-DD are accepted, at their midnight UTC; anything else is a VigilError.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { VigilError } from '../errors/catalogue.ts';
import { modelFrom } from './posture-service.ts';
import { AUTHENTICATIONS, CRITICALITIES, ENCRYPTIONS, PATCHABILITIES } from './types.ts';

const RUNS = { numRuns: 3000 };
const DAY_MS = 86_400_000;

function endOfSupportMs(endOfSupport: string): number | null | VigilError {
  try {
    return modelFrom({
      model: 'GX-200',
      manufacturer: 'Acme Medical',
      deviceClass: 'glucose meter',
      criticality: CRITICALITIES[0],
      encryption: ENCRYPTIONS[0],
      authentication: AUTHENTICATIONS[0],
      patchability: PATCHABILITIES[0],
      endOfSupport,
    }).endOfSupportMs;
  } catch (e) {
    if (!(e instanceof VigilError)) throw e;
    assert.equal(e.code, 'VIGIL_ERR_REQUEST_INVALID');
    return e;
  }
}

/** The reference, by arithmetic and not by Date: Gregorian leap years (every 4th, not 100th, 400th). */
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const daysIn = (y: number, m: number) =>
  [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] ?? 0;

/** Days from 1970-01-01 to y-m-d, counted day by day from year 0 (proleptic Gregorian). */
function daysFromEpoch(y: number, m: number, d: number): number {
  let days = 0;
  for (let year = 0; year < y; year += 1) days += isLeap(year) ? 366 : 365;
  for (let month = 1; month < m; month += 1) days += daysIn(y, month);
  days += d - 1;
  let epoch = 0;
  for (let year = 0; year < 1970; year += 1) epoch += isLeap(year) ? 366 : 365;
  return days - epoch;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

describe('end of support date (calendarDateMs), properties', () => {
  it('accepts exactly the real calendar days, at midnight UTC', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        (y, m, d) => {
          const text = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
          const out = endOfSupportMs(text);
          const isReal = m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m);
          if (isReal) assert.equal(out, daysFromEpoch(y, m, d) * DAY_MS, text);
          else assert.ok(out instanceof VigilError, `${text} gave ${String(out)}`);
        },
      ),
      RUNS,
    );
  });

  it('refuses the rolled-over days Date.parse would take (Feb 29 of common years, day 31 of short months)', () => {
    const arbImpossible = fc.oneof(
      fc
        .integer({ min: 0, max: 9999 })
        .filter((y) => !isLeap(y))
        .map((y) => `${pad(y, 4)}-02-29`),
      fc.integer({ min: 0, max: 9999 }).map((y) => `${pad(y, 4)}-02-30`),
      fc
        .tuple(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(4, 6, 9, 11))
        .map(([y, m]) => `${pad(y, 4)}-${pad(m, 2)}-31`),
    );
    fc.assert(
      fc.property(arbImpossible, (text) => {
        assert.ok(endOfSupportMs(text) instanceof VigilError, text);
      }),
      RUNS,
    );
  });

  it('answers a VigilError, never another error, for any other text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: fc.constantFrom(...'0123456789-T:Z+ '.split('')), maxLength: 14 }),
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        ),
        (text) => {
          fc.pre(text !== '');
          const out = endOfSupportMs(text);
          if (out instanceof VigilError) return;
          assert.match(text, /^\d{4}-\d{2}-\d{2}$/);
          assert.equal(new Date(out ?? Number.NaN).toISOString().slice(0, 10), text);
        },
      ),
      RUNS,
    );
  });
});
