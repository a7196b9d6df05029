import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OcspAnswer } from '../pki/index.ts';
import { type CachedOcspAnswer, OcspAnswerCache } from './ocsp-answer-cache.ts';

const MINUTE = 60_000;

/** An entry of a given answer size; the bytes are not a real OCSP answer, which the cache never reads. */
function entryOf(bytes: number, signedAtMs = 0): CachedOcspAnswer {
  const answer: OcspAnswer = {
    der: Buffer.alloc(bytes),
    responseStatus: 'successful',
    certStatuses: ['good'],
  };
  return { answer, serials: ['a1'], statuses: new Map(), signedAtMs, generation: 0 };
}

describe('OCSP answer cache', () => {
  it('never holds more bytes than its bound, however many keys are asked about', () => {
    const cache = new OcspAnswerCache({ maxAgeMs: 5 * MINUTE, maxBytes: 64 * 1024 });
    for (let i = 0; i < 10_000; i++) cache.set(`random-serial-${i}`, entryOf(250));
    assert.ok(cache.bytes <= 64 * 1024, `${cache.bytes} bytes held`);
    assert.ok(cache.size > 0 && cache.size < 100, `${cache.size} entries held`);
    assert.ok(cache.get('random-serial-9999', 0), 'the newest is kept');
    assert.equal(cache.get('random-serial-0', 0), undefined, 'the oldest went first');
  });

  it('evicts the least recently used answer first, not the least recently stored', () => {
    const cache = new OcspAnswerCache({ maxAgeMs: 5 * MINUTE, maxBytes: 3 * (512 + 250 + 10) });
    for (const key of ['pump-1', 'pump-2', 'pump-3']) cache.set(key, entryOf(250));
    assert.ok(cache.get('pump-1', 0));
    cache.set('pump-4', entryOf(250));
    assert.ok(cache.get('pump-1', 0));
    assert.equal(cache.get('pump-2', 0), undefined);
  });

  it('keeps no answer larger than the whole bound, and counts a replaced key once', () => {
    const cache = new OcspAnswerCache({ maxAgeMs: 5 * MINUTE, maxBytes: 2048 });
    cache.set('huge', entryOf(4096));
    assert.equal(cache.size, 0);
    cache.set('pump', entryOf(250));
    const once = cache.bytes;
    cache.set('pump', entryOf(250));
    assert.equal(cache.bytes, once);
  });

  it('hands an answer out until it is maxAgeMs old, and not after the clock steps back', () => {
    const cache = new OcspAnswerCache({ maxAgeMs: 5 * MINUTE, maxBytes: 1 << 20 });
    cache.set('pump', entryOf(250, 10 * MINUTE));
    assert.ok(cache.get('pump', 15 * MINUTE - 1));
    assert.equal(cache.get('pump', 15 * MINUTE), undefined);
    cache.set('pump', entryOf(250, 10 * MINUTE));
    assert.equal(cache.get('pump', 10 * MINUTE - 1), undefined);
    assert.equal(cache.bytes, 0);
  });

  it('moves to a new generation on invalidate, leaving entries to be checked by the caller', () => {
    const cache = new OcspAnswerCache();
    cache.set('pump', entryOf(250));
    cache.invalidate();
    assert.equal(cache.generation, 1);
    assert.equal(cache.get('pump', 0)?.generation, 0);
  });
});
