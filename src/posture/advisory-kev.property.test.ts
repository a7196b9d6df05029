/**
 * Property tests of the KEV catalog and EPSS CSV readers (STYLE.md 13): any document gives
 * entries or an AdvisoryError naming where it is wrong (the importer's documented refusal),
 * and a feed generated in the published shape is read back field for field.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseEpssCsv, parseKev } from './advisory-kev.ts';
import { AdvisoryError } from './advisory-osv.ts';

const RUNS = { numRuns: 1000 };

function orRefusal<T>(read: () => T): T | AdvisoryError {
  try {
    return read();
  } catch (e) {
    if (!(e instanceof AdvisoryError)) throw e;
    assert.ok(e.message.length > 0, 'an AdvisoryError with no reason');
    return e;
  }
}

const arbCve = fc
  .tuple(fc.integer({ min: 1999, max: 2099 }), fc.integer({ min: 1, max: 99_999_999 }))
  .map(([y, n]) => `CVE-${y}-${String(n).padStart(4, '0')}`);
const arbDay = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));

const arbKevEntry = fc.record({
  cveID: arbCve,
  vendorProject: fc.string(),
  product: fc.string(),
  vulnerabilityName: fc.string(),
  dateAdded: arbDay,
  shortDescription: fc.string(),
  requiredAction: fc.string(),
  dueDate: arbDay,
  knownRansomwareCampaignUse: fc.constantFrom('Known', 'Unknown'),
  notes: fc.string(),
});

describe('parseKev, properties', () => {
  it('answers entries or an AdvisoryError for any JSON document', () => {
    const arbDoc = fc.oneof(
      fc.jsonValue(),
      fc.record({ catalogVersion: fc.string(), vulnerabilities: fc.array(fc.jsonValue(), { maxLength: 5 }) }),
      fc.record({
        vulnerabilities: fc.array(
          fc.record(
            { cveID: fc.oneof(arbCve, fc.jsonValue()), dateAdded: fc.oneof(arbDay, fc.jsonValue()) },
            { requiredKeys: [] },
          ),
          { maxLength: 5 },
        ),
      }),
    );
    fc.assert(
      fc.property(arbDoc, (doc) => {
        const out = orRefusal(() => parseKev(doc));
        if (out instanceof AdvisoryError) return;
        for (const e of out) {
          assert.match(e.cve, /^CVE-\d{4}-\d{4,}$/);
          assert.match(e.dateAdded, /^\d{4}-\d{2}-\d{2}$/);
        }
      }),
      RUNS,
    );
  });

  it('reads back every field of a catalog in the published shape', () => {
    fc.assert(
      fc.property(fc.array(arbKevEntry, { maxLength: 8 }), (vulnerabilities) => {
        const doc = {
          title: 'CISA KEV',
          catalogVersion: '2026.01.01',
          count: vulnerabilities.length,
          vulnerabilities,
        };
        const read = parseKev(JSON.parse(JSON.stringify(doc)));
        assert.deepEqual(
          read,
          vulnerabilities.map((v) => ({
            cve: v.cveID,
            vendor: v.vendorProject,
            product: v.product,
            name: v.vulnerabilityName,
            dateAdded: v.dateAdded,
            dueDate: v.dueDate,
            knownRansomware: v.knownRansomwareCampaignUse === 'Known',
          })),
        );
      }),
      RUNS,
    );
  });
});

/** What FIRST publishes: a fraction from 0 to 1 in plain decimal or exponent form. */
const EPSS_NUMBER = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

// + 0 turns -0 into 0: a CSV has no negative zero to give back.
const arbProbability = fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x + 0);
const arbScore = fc
  .record({ cve: arbCve, probability: arbProbability, percentile: arbProbability })
  .map((s) => ({ ...s }));

function epssCsv(
  scores: readonly { cve: string; probability: number; percentile: number }[],
  eol: string,
): string {
  const lines = [
    '#model_version:v2025.03.14,score_date:2026-01-01T00:00:00+0000',
    'cve,epss,percentile',
    ...scores.map((s) => `${s.cve},${s.probability},${s.percentile}`),
  ];
  return lines.join(eol) + eol;
}

describe('parseEpssCsv, properties', () => {
  it('answers scores or an AdvisoryError for any text', () => {
    const arbCell = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'0123456789.eE+-x '.split('')), maxLength: 8 }),
      arbProbability.map(String),
      arbCve,
    );
    const arbText = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc
        .array(fc.array(arbCell, { minLength: 0, maxLength: 4 }), { maxLength: 6 })
        .map((rows) => ['cve,epss,percentile', ...rows.map((r) => r.join(','))].join('\n')),
    );
    fc.assert(
      fc.property(arbText, (text) => {
        const out = orRefusal(() => parseEpssCsv(text));
        if (out instanceof AdvisoryError) {
          assert.match((out as AdvisoryError).pointer, /^line \d+$/);
          return;
        }
        for (const s of out) {
          assert.ok(s.probability >= 0 && s.probability <= 1 && s.percentile >= 0 && s.percentile <= 1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reads a score only from cells that hold a number, never from an empty or padded cell', () => {
    const arbCell = fc.oneof(
      fc.constantFrom('', ' ', '\t', '0x1', '0b1', 'Infinity', '-0', '+0.5', ' 0.5', '1e0'),
      fc.string({ unit: fc.constantFrom(...'0123456789.eE+- '.split('')), maxLength: 6 }),
      arbProbability.map(String),
    );
    fc.assert(
      fc.property(arbCve, arbCell, arbCell, (cve, p, pct) => {
        const out = orRefusal(() => parseEpssCsv(`cve,epss,percentile\n${cve},${p},${pct}\n`));
        if (out instanceof AdvisoryError) return;
        assert.ok(
          EPSS_NUMBER.test(p) && EPSS_NUMBER.test(pct),
          `"${cve},${p},${pct}" was read as ${JSON.stringify(out)}`,
        );
      }),
      RUNS,
    );
  });

  it('reads back every score of a file in the published shape, with LF or CRLF', () => {
    fc.assert(
      fc.property(fc.array(arbScore, { maxLength: 20 }), fc.constantFrom('\n', '\r\n'), (scores, eol) => {
        assert.deepEqual(parseEpssCsv(epssCsv(scores, eol)), scores);
      }),
      RUNS,
    );
  });
});
