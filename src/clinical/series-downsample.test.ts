import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bucketize, lttbIndexes, type Points } from './series-downsample.ts';

/** Time-ordered points with strictly increasing times, as a series of one code is. */
const series = (minLength = 0) =>
  fc
    .array(fc.tuple(fc.integer({ min: 1, max: 10_000 }), fc.double({ min: -1e6, max: 1e6, noNaN: true })), {
      minLength,
      maxLength: 400,
    })
    .map((steps): Points => {
      const t: number[] = [];
      const v: number[] = [];
      let at = Date.parse('2026-11-22T00:00:00Z');
      for (const [dt, value] of steps) {
        at += dt;
        t.push(at);
        v.push(value);
      }
      return { t, v };
    });

describe('LTTB downsampling', () => {
  it('keeps the first and the last point', () => {
    fc.assert(
      fc.property(series(2), fc.integer({ min: 2, max: 500 }), (p, threshold) => {
        const kept = lttbIndexes(p, threshold);
        assert.equal(kept[0], 0);
        assert.equal(kept[kept.length - 1], p.t.length - 1);
      }),
    );
  });

  it('answers exactly the asked number of points, or every point of a shorter series', () => {
    fc.assert(
      fc.property(series(), fc.integer({ min: 2, max: 500 }), (p, threshold) => {
        assert.equal(lttbIndexes(p, threshold).length, Math.min(threshold, p.t.length));
      }),
    );
  });

  it('picks only input points, in time order, each at most once', () => {
    fc.assert(
      fc.property(series(), fc.integer({ min: 2, max: 500 }), (p, threshold) => {
        const kept = lttbIndexes(p, threshold);
        for (let i = 0; i < kept.length; i++) {
          assert.ok(Number.isInteger(kept[i]) && kept[i]! >= 0 && kept[i]! < p.t.length);
          if (i > 0) assert.ok(kept[i]! > kept[i - 1]!, 'indexes strictly increase');
        }
      }),
    );
  });

  it('keeps a lone spike that a mean would flatten', () => {
    const t = Array.from({ length: 10_000 }, (_, i) => i * 1000);
    const v = t.map((_, i) => (i === 6_543 ? 180 : 70));
    const kept = lttbIndexes({ t, v }, 100);
    assert.ok(kept.includes(6_543));
  });

  it('refuses fewer than two points for a longer series', () => {
    assert.throws(() => lttbIndexes({ t: [1, 2, 3], v: [1, 2, 3] }, 1), RangeError);
  });
});

describe('min/max/mean buckets', () => {
  it('accounts for every point once, with min <= mean <= max, in aligned increasing buckets', () => {
    fc.assert(
      fc.property(series(), fc.constantFrom(1000, 60_000, 300_000, 3_600_000), (p, bucketMs) => {
        const buckets = bucketize(p, bucketMs);
        assert.equal(
          buckets.reduce((n, b) => n + b.count, 0),
          p.t.length,
        );
        for (let i = 0; i < buckets.length; i++) {
          const b = buckets[i]!;
          assert.equal(b.startMs % bucketMs, 0);
          assert.ok(b.min <= b.mean + 1e-6 && b.mean <= b.max + 1e-6);
          if (i > 0) assert.ok(b.startMs > buckets[i - 1]!.startMs);
        }
      }),
    );
  });

  it('computes the figures of each bucket', () => {
    const t0 = Date.parse('2026-11-22T10:00:00Z');
    const buckets = bucketize({ t: [t0, t0 + 10_000, t0 + 70_000], v: [60, 90, 75] }, 60_000);
    assert.deepEqual(buckets, [
      { startMs: t0, count: 2, min: 60, max: 90, mean: 75 },
      { startMs: t0 + 60_000, count: 1, min: 75, max: 75, mean: 75 },
    ]);
  });
});
