import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { VigilError } from '../errors/catalogue.ts';
import { MAX_STREAM_PATIENTS, parseStreamQuery, STREAM_TOPICS } from './stream-query.ts';

const ID_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-'.split('');
const patientId = fc
  .tuple(fc.constantFrom(...ID_CHARS.slice(0, 62)), fc.array(fc.constantFrom(...ID_CHARS), { maxLength: 63 }))
  .map(([first, rest]) => first + rest.join(''));

function refused(query: string, pattern: RegExp): void {
  assert.throws(
    () => parseStreamQuery(query),
    (e: unknown) =>
      e instanceof VigilError && e.code === 'VIGIL_ERR_REQUEST_INVALID' && pattern.test(e.detail),
  );
}

describe('stream query parser', () => {
  it('reads an empty query as everything the role may see', () => {
    assert.deepEqual(parseStreamQuery(''), { patients: null, topics: null });
  });

  it('reads back any valid patient list and topic set, however encoded and ordered', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(patientId, { maxLength: MAX_STREAM_PATIENTS }),
        fc.option(fc.uniqueArray(fc.constantFrom(...STREAM_TOPICS), { minLength: 1 })),
        fc.nat(),
        fc.boolean(),
        (patients, topics, topicsAt, encodeAll) => {
          const enc = (s: string) =>
            encodeAll ? [...s].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('') : s;
          const pairs = patients.map((p) => `patient=${enc(p)}`);
          if (topics) pairs.splice(topicsAt % (pairs.length + 1), 0, `topics=${enc(topics.join(','))}`);
          const parsed = parseStreamQuery(pairs.join('&'));
          assert.deepEqual(parsed.patients, patients.length > 0 ? patients : null);
          assert.deepEqual(parsed.topics, topics);
        },
      ),
    );
  });

  it('answers any input with a result or a request-invalid problem, never another error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (query) => {
        try {
          const parsed = parseStreamQuery(query);
          for (const p of parsed.patients ?? []) assert.match(p, /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
          assert.ok((parsed.patients?.length ?? 0) <= MAX_STREAM_PATIENTS);
          for (const t of parsed.topics ?? []) assert.ok((STREAM_TOPICS as readonly string[]).includes(t));
        } catch (e) {
          assert.ok(e instanceof VigilError && e.code === 'VIGIL_ERR_REQUEST_INVALID', String(e));
          assert.ok(e.detail.length < 300, 'the detail stays short whatever the input');
        }
      }),
    );
  });

  it('folds repeated patients and topics into one', () => {
    assert.deepEqual(parseStreamQuery('patient=p1&patient=p1&topics=alerts,alerts'), {
      patients: ['p1'],
      topics: ['alerts'],
    });
  });

  it('refuses more than 50 distinct patients', () => {
    const many = Array.from({ length: MAX_STREAM_PATIENTS + 1 }, (_, i) => `patient=p${i}`).join('&');
    refused(many, /at most 50 patient/);
  });

  it('refuses a patient id outside the id alphabet, naming the value', () => {
    refused('patient=../etc', /patient="..\/etc" is not a patient id/);
    refused('patient=', /patient="" is not a patient id/);
    refused(`patient=${'a'.repeat(65)}`, /is not a patient id/);
  });

  it('refuses unknown topics, an empty topic list and topics given twice', () => {
    refused('topics=readings,audit', /"audit" is not one of readings, alerts, security/);
    refused('topics=', /"" is not one of/);
    refused('topics=alerts&topics=readings', /given once/);
  });

  it('refuses unknown parameters and malformed percent-encoding', () => {
    refused('token=abc', /unknown parameter "token"/);
    refused('patient=%E0%A4%A', /malformed percent-encoding/);
    refused(`patient=${'a'.repeat(9000)}`, /over 8192 characters/);
  });
});
