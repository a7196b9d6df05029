import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { VigilError } from '../errors/catalogue.ts';
import { checkClockWindow, clockWindow, parseRfc3339Ms, readTimestamp } from './timestamps.ts';

const NOW_MS = Date.parse('2026-11-22T10:15:00.000Z');
const FIRST_RFC3339_MS = Date.parse('0000-01-01T00:00:00.000Z');
const LAST_RFC3339_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** Formats epoch ms as RFC 3339 at a given offset (minutes east of UTC) and fraction length. */
function formatRfc3339(ms: number, offsetMinutes: number, fractionDigits: number): string {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString();
  const fraction = fractionDigits === 0 ? '' : `.${local.slice(20, 23).padEnd(fractionDigits, '0')}`;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local.slice(0, 19)}${fraction}${sign}${hh}:${mm}`;
}

function refusal(fn: () => unknown): VigilError {
  try {
    fn();
  } catch (e) {
    if (e instanceof VigilError) return e;
    throw e;
  }
  assert.fail('expected a VigilError');
}

describe('RFC 3339 timestamp parser', () => {
  it('reads a UTC timestamp with milliseconds', () => {
    assert.equal(parseRfc3339Ms('2026-11-22T10:15:00.000Z'), NOW_MS);
  });

  it('reads a timestamp without a fraction', () => {
    assert.equal(parseRfc3339Ms('2026-11-22T10:15:00Z'), NOW_MS);
  });

  it('applies a numeric offset', () => {
    assert.equal(parseRfc3339Ms('2026-11-22T11:45:00+01:30'), NOW_MS);
    assert.equal(parseRfc3339Ms('2026-11-22T05:15:00-05:00'), NOW_MS);
  });

  it('reads -00:00 (offset unknown, RFC 3339 §4.3) as UTC', () => {
    assert.equal(parseRfc3339Ms('2026-11-22T10:15:00-00:00'), NOW_MS);
  });

  it('truncates a fraction finer than milliseconds', () => {
    assert.equal(parseRfc3339Ms('2026-11-22T10:15:00.123999999Z'), NOW_MS + 123);
    assert.equal(parseRfc3339Ms('2026-11-22T10:15:00.5Z'), NOW_MS + 500);
  });

  it('accepts 29 February in a leap year only', () => {
    assert.equal(parseRfc3339Ms('2028-02-29T00:00:00Z'), Date.UTC(2028, 1, 29));
    assert.equal(parseRfc3339Ms('2000-02-29T00:00:00Z'), Date.UTC(2000, 1, 29));
    assert.ok(Number.isNaN(parseRfc3339Ms('2026-02-29T00:00:00Z')));
    assert.ok(Number.isNaN(parseRfc3339Ms('2100-02-29T00:00:00Z')));
  });

  it('reads years below 100 as written, unlike Date.UTC', () => {
    assert.equal(parseRfc3339Ms('0026-01-01T00:00:00Z'), new Date('0026-01-01T00:00:00Z').getTime());
  });

  it('refuses the loose forms Date.parse accepts', () => {
    const loose = [
      '2026',
      '2026-11',
      '2026-11-22',
      'Nov 22 2026',
      '22 Nov 2026 10:15:00 GMT',
      'Sun, 22 Nov 2026 10:15:00 GMT',
      '2026-11-22T10:15:00',
      '2026-11-22T10:15Z',
      '2026-11-22 10:15:00Z',
      '2026-11-22T10:15:00.000',
      '+002026-11-22T10:15:00Z',
      '2026/11/22T10:15:00Z',
    ];
    for (const text of loose) assert.ok(Number.isNaN(parseRfc3339Ms(text)), text);
  });

  it('refuses impossible calendar dates and times', () => {
    const impossible = [
      '2026-00-10T10:15:00Z',
      '2026-13-10T10:15:00Z',
      '2026-04-31T10:15:00Z',
      '2026-11-00T10:15:00Z',
      '2026-11-22T24:00:00Z',
      '2026-11-22T10:60:00Z',
      '2026-11-22T10:15:60Z',
      '2026-11-22T10:15:00+24:00',
      '2026-11-22T10:15:00+01:60',
    ];
    for (const text of impossible) assert.ok(Number.isNaN(parseRfc3339Ms(text)), text);
  });

  it('refuses malformed fractions, offsets and padding', () => {
    const malformed = [
      '2026-11-22T10:15:00.Z',
      '2026-11-22T10:15:00.1234567890Z',
      '2026-11-22T10:15:00+0100',
      '2026-11-22T10:15:00+01',
      '2026-11-22T10:15:00+01:00Z',
      '2026-11-22T10:15:00ZZ',
      '2026-11-22t10:15:00z',
      ' 2026-11-22T10:15:00Z',
      '2026-11-22T10:15:00Z ',
      '2026-11-22T10:15:00Z\n',
      '２０２６-11-22T10:15:00Z',
      '2026-1a-22T10:15:00Z',
      '',
    ];
    for (const text of malformed) assert.ok(Number.isNaN(parseRfc3339Ms(text)), JSON.stringify(text));
  });

  it('agrees with Date for every instant, offset and fraction length it accepts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: FIRST_RFC3339_MS + 86_400_000, max: LAST_RFC3339_MS - 86_400_000 }),
        fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
        fc.constantFrom(0, 3, 6, 9),
        (ms, offsetMinutes, fractionDigits) => {
          const expected = fractionDigits === 0 ? Math.floor(ms / 1000) * 1000 : ms;
          assert.equal(parseRfc3339Ms(formatRfc3339(ms, offsetMinutes, fractionDigits)), expected);
        },
      ),
    );
  });

  it('reads back every toISOString from year 0 to 9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: FIRST_RFC3339_MS, max: LAST_RFC3339_MS }), (ms) => {
        assert.equal(parseRfc3339Ms(new Date(ms).toISOString()), ms);
      }),
    );
  });

  it('returns a number or NaN for any string, never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        assert.equal(typeof parseRfc3339Ms(text), 'number');
      }),
    );
  });
});

describe('clock window', () => {
  const window = clockWindow({ nowMs: NOW_MS });

  it('defaults to 5 minutes ahead and 30 days back', () => {
    assert.deepEqual(window, { nowMs: NOW_MS, maxFutureMs: 300_000, maxPastMs: 30 * 86_400_000 });
  });

  it('accepts the exact edges of the window', () => {
    checkClockWindow(NOW_MS + 300_000, window, 'ts', -1);
    checkClockWindow(NOW_MS - 30 * 86_400_000, window, 'ts', -1);
  });

  it('refuses a timestamp more than 5 minutes ahead, saying by how much', () => {
    const e = refusal(() => checkClockWindow(NOW_MS + 300_001, window, 'ts', 2));
    assert.equal(e.code, 'VIGIL_ERR_INGEST_FUTURE');
    assert.match(e.detail, /^readings\[2\]\.ts is 301 s ahead of the server clock; at most 300 s/);
  });

  it('refuses a timestamp older than the backfill window', () => {
    const e = refusal(() => checkClockWindow(NOW_MS - 30 * 86_400_000 - 1, window, 'ts', -1));
    assert.equal(e.code, 'VIGIL_ERR_INGEST_TOO_OLD');
    assert.equal(e.detail, 'ts is older than the backfill window of 30 days');
  });

  it('fails closed when a limit is not a number', () => {
    assert.equal(refusal(() => clockWindow({ nowMs: Number.NaN })).code, 'VIGIL_ERR_INTERNAL');
  });
});

describe('timestamp field', () => {
  const window = clockWindow({ nowMs: NOW_MS });

  it('says a required timestamp is missing', () => {
    const e = refusal(() => readTimestamp(undefined, window, 'ts', -1));
    assert.equal(e.code, 'VIGIL_ERR_INGEST_BAD_SHAPE');
    assert.equal(e.detail, 'ts is missing');
  });

  it('refuses epoch numbers: the protocol carries text timestamps', () => {
    const e = refusal(() => readTimestamp(NOW_MS, window, 'ts', 0));
    assert.equal(e.detail, 'readings[0].ts must be a string, got number');
  });

  it('does not quote a malformed timestamp back', () => {
    const e = refusal(() => readTimestamp('Nov 22 2026 10:15', window, 'ts', -1));
    assert.equal(e.code, 'VIGIL_ERR_INGEST_BAD_SHAPE');
    assert.doesNotMatch(e.detail, /Nov 22/);
    assert.match(e.detail, /^ts is not an RFC 3339 date-time with a zone/);
  });
});
