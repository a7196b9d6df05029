import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { VigilError } from '../errors/catalogue.ts';
import { compareKeys, decodeCursor, encodeCursor } from './series-cursor.ts';

const key = fc.record({
  tsMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  code: fc
    .tuple(fc.integer({ min: 1, max: 9_999_999 }), fc.integer({ min: 0, max: 9 }))
    .map(([a, b]) => `${a}-${b}`),
  deviceId: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  n: fc.integer({ min: 0, max: 999_999 }),
});

describe('page cursor', () => {
  it('decodes what it encoded', () => {
    fc.assert(fc.property(key, (k) => assert.deepEqual(decodeCursor(encodeCursor(k)), { ...k })));
  });

  it('answers any other string with a VigilError, never another exception', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.base64String(), fc.stringMatching(/^[A-Za-z0-9_-]{0,80}$/)),
        (s) => {
          try {
            const k = decodeCursor(s);
            assert.equal(decodeCursor(encodeCursor(k)).tsMs, k.tsMs);
          } catch (e) {
            assert.ok(e instanceof VigilError && e.code === 'VIGIL_ERR_REQUEST_INVALID');
          }
        },
      ),
    );
  });

  it('orders keys by time, code, device, then ordinal', () => {
    fc.assert(
      fc.property(key, key, (a, b) => {
        assert.equal(Math.sign(compareKeys(a, b)), -Math.sign(compareKeys(b, a)));
        assert.equal(compareKeys(a, a), 0);
      }),
    );
  });
});
