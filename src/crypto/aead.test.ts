import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../errors/catalogue.ts';
import { open, seal } from './aead.ts';

const key = () => randomBytes(32);

describe('AES-256-GCM sealing', () => {
  it('opens what it sealed with the same key and row identity', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.string(), (bytes, aad) => {
        const k = key();
        assert.deepEqual(open(k, seal(k, bytes, aad), aad), Buffer.from(bytes));
      }),
    );
  });

  it('refuses a value moved to another row (different associated data)', () => {
    const k = key();
    const box = seal(k, Buffer.from('104'), 'reading|patient-1|device-1|17');
    assert.throws(
      () => open(k, box, 'reading|patient-2|device-1|17'),
      (e) => isVigilError(e) && e.code === 'VIGIL_ERR_CRYPTO_OPEN_FAILED',
    );
  });

  it('refuses a value sealed under another key', () => {
    const box = seal(key(), Buffer.from('72'), 'row');
    assert.throws(() => open(key(), box, 'row'), isVigilError);
  });

  it('refuses any single flipped bit', () => {
    const k = key();
    const box = seal(k, Buffer.from('heart rate 72'), 'row');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: box.length * 8 - 1 }), (bit) => {
        const tampered = Buffer.from(box);
        tampered[bit >> 3]! ^= 1 << (bit & 7);
        assert.throws(() => open(k, tampered, 'row'), isVigilError);
      }),
    );
  });

  it('refuses truncated input', () => {
    const k = key();
    assert.throws(() => open(k, Buffer.alloc(10), 'row'), isVigilError);
  });

  it('never repeats a nonce across many seals (pool refills included)', () => {
    const k = key();
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const nonce = seal(k, Buffer.from('x'), 'row').subarray(1, 13).toString('hex');
      assert.ok(!seen.has(nonce), `nonce repeated after ${i} seals`);
      assert.notEqual(nonce, '0'.repeat(24));
      seen.add(nonce);
    }
  });
});
