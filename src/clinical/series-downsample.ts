/**
 * Downsampling for charts and trends. Two kinds, because they answer different questions:
 * - buckets (min/max/mean per fixed interval): what a clinician reads as a trend, and what
 *   keeps a short dip visible (the min survives even when the mean hides it);
 * - LTTB (largest-triangle-three-buckets, Steinarsson 2013, "Downsampling Time Series for
 *   Visual Representation", ch. 4): picks real samples that keep the shape of a line chart,
 *   so a 604,800-point week draws as 1,000 points without flattening peaks.
 */

/** One series of one code, in time order: parallel arrays avoid an object per point. */
export interface Points {
  t: Float64Array | number[];
  v: Float64Array | number[];
}

export interface Bucket {
  startMs: number;
  count: number;
  min: number;
  max: number;
  mean: number;
}

/**
 * Aggregates time-ordered points into fixed buckets aligned to the epoch (so the same
 * bucket boundaries come back whatever the query's from). Empty buckets are left out.
 */
export function bucketize(points: Points, bucketMs: number): Bucket[] {
  const out: Bucket[] = [];
  const n = points.t.length;
  let current: Bucket | undefined;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const t = points.t[i]!;
    const v = points.v[i]!;
    const start = Math.floor(t / bucketMs) * bucketMs;
    if (!current || current.startMs !== start) {
      if (current) current.mean = sum / current.count;
      current = { startMs: start, count: 0, min: v, max: v, mean: 0 };
      sum = 0;
      out.push(current);
    }
    current.count++;
    sum += v;
    if (v < current.min) current.min = v;
    if (v > current.max) current.max = v;
  }
  if (current) current.mean = sum / current.count;
  return out;
}

/**
 * Largest-triangle-three-buckets. Returns the indexes of the kept points: always the first
 * and the last, exactly `threshold` of them when the input is longer, else every index.
 * Each middle bucket keeps the point forming the largest triangle with the point kept in the
 * previous bucket and the average of the next bucket.
 */
export function lttbIndexes(points: Points, threshold: number): number[] {
  const n = points.t.length;
  if (threshold >= n || n <= 2) return Array.from({ length: n }, (_, i) => i);
  if (threshold < 2) throw new RangeError(`LTTB needs at least 2 points, got ${threshold}`);
  const { t, v } = points;
  const kept: number[] = [0];
  const every = (n - 2) / (threshold - 2);
  let a = 0;
  for (let b = 0; b < threshold - 2; b++) {
    // The next bucket's average is the third corner of the triangle.
    const nextStart = Math.floor((b + 1) * every) + 1;
    const nextEnd = Math.min(Math.floor((b + 2) * every) + 1, n);
    let avgT = 0;
    let avgV = 0;
    for (let i = nextStart; i < nextEnd; i++) {
      avgT += t[i]!;
      avgV += v[i]!;
    }
    const span = nextEnd - nextStart;
    avgT /= span;
    avgV /= span;
    const start = Math.floor(b * every) + 1;
    const end = Math.floor((b + 1) * every) + 1;
    const at = t[a]!;
    const av = v[a]!;
    let maxArea = -1;
    let chosen = start;
    for (let i = start; i < end; i++) {
      const area = Math.abs((at - avgT) * (v[i]! - av) - (at - t[i]!) * (avgV - av));
      if (area > maxArea) {
        maxArea = area;
        chosen = i;
      }
    }
    kept.push(chosen);
    a = chosen;
  }
  kept.push(n - 1);
  return kept;
}
