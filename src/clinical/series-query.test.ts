import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { VigilError } from '../errors/catalogue.ts';
import { parseInstant, parseResolution, parseSeriesQuery, type SeriesQueryString } from './series-query.ts';

const NOW = Date.parse('2026-11-22T10:00:00Z');

function refused(f: () => unknown, pattern: RegExp): void {
  assert.throws(
    f,
    (e: unknown) =>
      e instanceof VigilError && e.code === 'VIGIL_ERR_REQUEST_INVALID' && pattern.test(e.detail),
  );
}

describe('series query parser', () => {
  it('reads every ISO 8601 instant Date writes, in UTC or with an offset', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        fc.integer({ min: -14 * 60, max: 14 * 60 }),
        (ms, offsetMin) => {
          const utc = new Date(ms).toISOString();
          assert.equal(parseInstant('from', utc), ms);
          const local = new Date(ms + offsetMin * 60_000).toISOString().slice(0, 23);
          const sign = offsetMin < 0 ? '-' : '+';
          const abs = Math.abs(offsetMin);
          const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          assert.equal(parseInstant('from', `${local}${offset}`), ms);
        },
      ),
    );
  });

  it('answers anything else with a problem naming the parameter, never another error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        try {
          const ms = parseInstant('to', s);
          assert.ok(Number.isFinite(ms));
        } catch (e) {
          assert.ok(e instanceof VigilError && e.detail.startsWith('to='));
        }
      }),
    );
  });

  it('refuses dates that do not exist rather than rolling them over', () => {
    refused(() => parseInstant('from', '2026-02-31'), /not an ISO 8601/);
    refused(() => parseInstant('from', '2026-11-22T24:00:00Z'), /not an ISO 8601/);
    assert.equal(parseInstant('from', '2026-11-22'), Date.parse('2026-11-22T00:00:00Z'));
  });

  it('reads resolutions as bucket widths', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 99_999 }), fc.constantFrom('s', 'm', 'h', 'd'), (n, unit) => {
        const ms = n * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit];
        if (ms <= 7 * 86_400_000) assert.equal(parseResolution(`${n}${unit}`), ms);
        else refused(() => parseResolution(`${n}${unit}`), /1s to 7d/);
      }),
    );
    for (const bad of ['0m', '5 m', '5M', 'PT5M', '-1h', '1.5h', ''])
      refused(() => parseResolution(bad), /resolution=/);
  });

  it('defaults to the last 24 hours of raw readings', () => {
    const q = parseSeriesQuery({}, NOW);
    assert.equal(q.toMs - q.fromMs, 86_400_000);
    assert.deepEqual(q.mode, { kind: 'raw', limit: 10_000 });
  });

  it('refuses parameters that do not go together', () => {
    const cases: Array<[SeriesQueryString, RegExp]> = [
      [{ resolution: '5m', downsample: 'lttb' }, /not both/],
      [{ points: 100 }, /only with downsample=lttb/],
      [{ downsample: 'lttb', limit: 5 }, /one answer/],
      [{ downsample: 'm4' }, /unknown; use lttb/],
      [{ from: '2026-11-22T10:00:00Z', to: '2026-11-21T10:00:00Z' }, /from must not be after to/],
      [{ from: '2026-01-01', to: '2026-12-31', resolution: '1m' }, /more than 10080 buckets/],
      [{ code: '8867-4,heart' }, /not a LOINC code list/],
      [{ cursor: 'bm90IGEgY3Vyc29y' }, /not a page token/],
    ];
    for (const [q, pattern] of cases) refused(() => parseSeriesQuery(q, NOW), pattern);
  });

  it('reads a chart request', () => {
    const q = parseSeriesQuery(
      { code: '8867-4,59408-5', from: '2026-11-15', to: '2026-11-22', downsample: 'lttb', points: 1000 },
      NOW,
    );
    assert.deepEqual([...(q.codes ?? [])], ['8867-4', '59408-5']);
    assert.deepEqual(q.mode, { kind: 'lttb', points: 1000 });
  });
});
