import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { classifySeq } from './replay-guard.ts';

describe('replay guard', () => {
  it('accepts the first message of a device', () => {
    assert.equal(classifySeq(undefined, 0, 'h'), 'new');
  });
  it('accepts a seq above the last stored one', () => {
    assert.equal(classifySeq({ seq: 10, hash: 'a' }, 11, 'b'), 'new');
  });
  it('refuses a seq it has already stored with other content', () => {
    assert.equal(classifySeq({ seq: 10, hash: 'a' }, 10, 'b'), 'replay');
  });
  it('recognises a redelivery of the last stored message', () => {
    assert.equal(classifySeq({ seq: 10, hash: 'a' }, 10, 'a'), 'duplicate');
  });
  it('recognises a redelivery of a recent message it still remembers', () => {
    assert.equal(classifySeq({ seq: 12, hash: 'c' }, 10, 'a', 'a'), 'duplicate');
    assert.equal(classifySeq({ seq: 12, hash: 'c' }, 10, 'b', 'a'), 'replay');
  });
  it('refuses every older seq, whatever its content', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.string(), (last, delta, hash) => {
        assert.equal(classifySeq({ seq: last + delta + 1, hash: 'x' }, last, hash), 'replay');
      }),
    );
  });
});
