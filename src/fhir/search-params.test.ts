import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { refusedOrParsed } from '../../test/support/refusal.ts';
import { encodeCursor } from '../clinical/series-cursor.ts';
import { VigilError } from '../errors/catalogue.ts';
import { parseDateParam, parseObservationSearch, parseReference, type RawQuery } from './search-params.ts';

const NOW = Date.parse('2026-11-22T10:00:00Z');
// Readings are never older than 1970: a search without a lower bound starts there.
const instant = fc.integer({
  min: 1,
  max: NOW,
});

describe('FHIR search parameters', () => {
  it('reads a date at each precision as the range it covers', () => {
    fc.assert(
      fc.property(instant, fc.constantFrom(4, 7, 10, 16, 19, 23), (ms, length) => {
        const iso = new Date(ms).toISOString();
        const text = length > 10 ? `${iso.slice(0, length)}Z` : iso.slice(0, length);
        const { lowMs, highMs } = parseDateParam(text);
        assert.ok(lowMs <= ms && ms <= highMs, `${text} covers ${iso}`);
        if (length === 23) assert.equal(lowMs, ms);
      }),
    );
  });

  it('refuses a day its month lacks, with or without a time, rather than roll it over', () => {
    const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();
    const pad = (n: number) => String(n).padStart(2, '0');
    fc.assert(
      fc.property(
        fc.integer({ min: 1970, max: 2100 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        fc.constantFrom('', 'T06:05Z', 'T06:05:00Z', 'T06:05:00.123+02:00', 'T23:59:59-05:00'),
        (year, month, day, time) => {
          const date = `${year}-${pad(month)}-${pad(day)}`;
          const answer = refusedOrParsed(() => parseDateParam(`${date}${time}`));
          if (day > daysIn(year, month)) assert.ok(answer instanceof VigilError, `${date}${time} was read`);
          else {
            assert.ok(!(answer instanceof VigilError), `${date}${time} was refused`);
            const zone = time.match(/[+-]\d{2}:\d{2}$/)?.[0] ?? '+00:00';
            const shiftMs = (zone[0] === '-' ? -1 : 1) * Number(zone.slice(1, 3)) * 3_600_000;
            assert.equal(new Date(answer.lowMs + shiftMs).toISOString().slice(0, 10), date);
          }
        },
      ),
    );
  });

  it('applies ge, le, gt and lt to the bounds of the value', () => {
    fc.assert(
      fc.property(instant, instant, (a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        const q = parseObservationSearch(
          { patient: 'p-1', date: [`ge${new Date(low).toISOString()}`, `le${new Date(high).toISOString()}`] },
          NOW,
        );
        assert.deepEqual([q.fromMs, q.toMs], [low, high]);
        const strict = parseObservationSearch(
          { patient: 'p-1', date: [`gt${new Date(low).toISOString()}`, `lt${new Date(high).toISOString()}`] },
          NOW,
        );
        assert.deepEqual([strict.fromMs, strict.toMs], [low + 1, high - 1]);
      }),
    );
  });

  it('answers any query with a search or a VigilError, never another exception', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        'Patient/p-1',
        'p-1',
        'http://loinc.org|8867-4',
        'ge2026-11-22',
        '-date',
        '10',
        encodeCursor({ tsMs: 1, code: '8867-4', deviceId: 'd', n: 0 }),
      ),
    );
    const query = fc.dictionary(
      fc.constantFrom('patient', 'subject', 'code', 'date', '_count', '_sort', '_cursor', '_format', 'value'),
      fc.oneof(value, fc.array(value, { maxLength: 3 })),
    );
    fc.assert(
      fc.property(query, (q) => void refusedOrParsed(() => parseObservationSearch(q as RawQuery, NOW))),
    );
  });

  it('reads code tokens: LOINC system or none; another system matches nothing', () => {
    const q = (code: string | string[]) => parseObservationSearch({ patient: 'p-1', code }, NOW).codes;
    assert.deepEqual([...q('http://loinc.org|8867-4,59408-5')!], ['8867-4', '59408-5']);
    assert.deepEqual([...q('8867-4')!], ['8867-4']);
    assert.deepEqual([...q('http://snomed.info/sct|8867-4')!], []);
    assert.deepEqual(
      [...q('http://snomed.info/sct|271649006')!],
      [],
      'a code of another system in its own shape',
    );
    assert.deepEqual([...q('http://snomed.info/sct|271649006,8867-4')!], ['8867-4']);
    assert.throws(() => q('http://loinc.org|271649006'), /not a LOINC code/);
    assert.deepEqual([...q(['8867-4,59408-5', '59408-5'])!], ['59408-5'], 'repeated code parameters AND');
  });

  it('reads references by type', () => {
    assert.equal(parseReference('Patient/p-1', 'Patient', 'patient'), 'p-1');
    assert.equal(parseReference('https://vigil.example/fhir/R4/Patient/p-1', 'Patient', 'patient'), 'p-1');
    assert.throws(() => parseReference('Device/d-1', 'Patient', 'patient'), /not a Patient reference/);
  });

  it('refuses what it does not implement rather than ignoring it', () => {
    for (const q of [
      { patient: 'p-1', 'code:text': 'heart' },
      { patient: 'p-1', _format: 'xml' },
      { patient: 'p-1', date: 'ap2026' },
    ]) {
      assert.throws(() => parseObservationSearch(q, NOW), VigilError);
    }
  });
});
