/**
 * Largest-triangle-three-buckets for live charts: the server's own implementation
 * (src/clinical/series-downsample.ts, a module with no imports), so a chart thinned in the
 * browser keeps the same samples and peaks the server would have chosen.
 * Returns `threshold` points (first and last always kept), or the input when it is not longer.
 */
import { lttbIndexes } from '../../../src/clinical/series-downsample.ts';

export function lttb<T>(
  points: readonly T[],
  threshold: number,
  x: (p: T) => number,
  y: (p: T) => number,
): T[] {
  return lttbIndexes({ t: points.map(x), v: points.map(y) }, threshold).map((i) => points[i]!);
}
