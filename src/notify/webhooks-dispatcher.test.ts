import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { classify, retryDelayMs } from './webhooks-dispatcher.ts';
import { parseRetryAfter } from './webhooks-sender.ts';

describe('webhook retry policy', () => {
  it('doubles the wait per attempt, jittered into [half, whole], capped at an hour', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (n, base, r) => {
          const full = Math.min(3_600_000, base * 2 ** (n - 1));
          const d = retryDelayMs(n, base, r, null);
          assert.ok(d >= Math.floor(full / 2) && d <= Math.ceil(full), `${d} outside [${full / 2}, ${full}]`);
        },
      ),
    );
    assert.equal(retryDelayMs(3, 1000, 1, null), 4000);
  });

  it('waits at least as long as Retry-After asks, up to a day', () => {
    assert.equal(retryDelayMs(1, 1000, 0, 120_000), 120_000);
    assert.equal(retryDelayMs(1, 1000, 0, 10 * 86_400_000), 86_400_000);
    assert.equal(retryDelayMs(5, 1000, 1, 10), 16_000);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('30', 0), 30_000);
    assert.equal(parseRetryAfter(new Date(90_000).toUTCString(), 30_000), 60_000);
    assert.equal(parseRetryAfter('soon', 0), null);
    assert.equal(parseRetryAfter(undefined, 0), null);
  });

  it('retries network errors, 5xx and 429; delivers on 2xx; gives up on other answers', () => {
    const r = (status: number | null) => classify({ status, retryAfterMs: null, error: null });
    assert.deepEqual(
      [r(200), r(204), r(null), r(500), r(503), r(429), r(400), r(404), r(301), r(410)],
      ['delivered', 'delivered', 'retry', 'retry', 'retry', 'retry', 'failed', 'failed', 'failed', 'failed'],
    );
  });
});
