/**
 * Largest-triangle-three-buckets (Steinarsson 2013, ch. 4), the same choice the server makes
 * for chart series (src/clinical/series-downsample.ts): it keeps real samples and the peaks
 * between them, so a chart thinned in the browser still shows the dip a clinician looks for.
 * Returns `threshold` points (first and last always kept), or the input when it is not longer.
 */
export function lttb<T>(
  points: readonly T[],
  threshold: number,
  x: (p: T) => number,
  y: (p: T) => number,
): T[] {
  const n = points.length;
  if (threshold >= n || n <= 2) return [...points];
  if (threshold < 2) throw new RangeError(`LTTB needs at least 2 points, got ${threshold}`);
  const t = points.map(x);
  const v = points.map(y);
  const kept: T[] = [points[0]!];
  const every = (n - 2) / (threshold - 2);
  let a = 0;
  for (let b = 0; b < threshold - 2; b++) {
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
    let maxArea = -1;
    let chosen = start;
    for (let i = start; i < end; i++) {
      const area = Math.abs((t[a]! - avgT) * (v[i]! - v[a]!) - (t[a]! - t[i]!) * (avgV - v[a]!));
      if (area > maxArea) {
        maxArea = area;
        chosen = i;
      }
    }
    kept.push(points[chosen]!);
    a = chosen;
  }
  kept.push(points[n - 1]!);
  return kept;
}
