import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fieldLabel, jsonTypeName, MAX_QUOTED_CHARS, quoteForDetail } from './detail-text.ts';

describe('refusal detail text', () => {
  it('quotes short printable text as is', () => {
    assert.equal(quoteForDetail('mm[Hg]'), '"mm[Hg]"');
  });

  it('escapes quotes, backslashes, control and non-ASCII characters', () => {
    assert.equal(quoteForDetail('a"\\\n\u001b\u202eé'), '"a\\u0022\\u005c\\u000a\\u001b\\u202e\\u00e9"');
  });

  it('describes text longer than the limit by its length only', () => {
    assert.equal(quoteForDetail('x'.repeat(MAX_QUOTED_CHARS + 1)), 'a 41-character string');
  });

  it('always yields one line of printable ASCII', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => {
        assert.match(quoteForDetail(text), /^[\x20-\x7e]+$/);
      }),
    );
  });

  it('names JSON types, telling arrays and null from objects', () => {
    assert.deepEqual([null, [], {}, 'x', 1, true].map(jsonTypeName), [
      'null',
      'array',
      'object',
      'string',
      'number',
      'boolean',
    ]);
  });

  it('labels a top-level field or a field of a reading', () => {
    assert.equal(fieldLabel('ts', -1), 'ts');
    assert.equal(fieldLabel('ts', 3), 'readings[3].ts');
  });
});
