/** Least-squares line through recent CGM readings: slope and where it leads. */
export interface GlucoseTrend {
  /** mg/dL per minute; negative when falling. */
  slopeMgDlPerMinute: number;
  /** The fitted value at the newest reading, mg/dL. */
  fittedNowMgDl: number;
  /** The fitted line extended `horizonMinutes` ahead, mg/dL. */
  projectedMgDl: number;
}

const MINUTE_MS = 60_000;
/** A CGM reads every 1-5 min; 24 points cover a 20-min window even at 1/min. */
const MAX_POINTS = 24;
/** Fewer points or a shorter span make a slope out of noise (CGM noise is ±5 mg/dL). */
const MIN_POINTS = 3;
const MIN_SPAN_MS = 10 * MINUTE_MS;

/**
 * Recent glucose readings in a small ring buffer, oldest dropped first. A linear regression
 * over the last `windowMinutes` gives the rate of change and a projection, as CGM "urgent low
 * soon" features do; it is recomputed per reading over at most 24 points, so its cost is fixed.
 */
export class GlucoseHistory {
  private readonly ts = new Float64Array(MAX_POINTS);
  private readonly values = new Float64Array(MAX_POINTS);
  private start = 0;
  private count = 0;

  add(valueMgDl: number, tsMs: number): void {
    if (this.count > 0 && tsMs <= this.ts[(this.start + this.count - 1) % MAX_POINTS]!) return;
    const at = (this.start + this.count) % MAX_POINTS;
    this.ts[at] = tsMs;
    this.values[at] = valueMgDl;
    if (this.count < MAX_POINTS) this.count++;
    else this.start = (this.start + 1) % MAX_POINTS;
  }

  /** The trend over readings within `windowMinutes` of the newest; undefined while too few. */
  trend(windowMinutes: number, horizonMinutes: number): GlucoseTrend | undefined {
    if (this.count < MIN_POINTS) return undefined;
    const newest = this.ts[(this.start + this.count - 1) % MAX_POINTS]!;
    const from = newest - windowMinutes * MINUTE_MS;
    let n = 0;
    let sumT = 0;
    let sumV = 0;
    let sumTT = 0;
    let sumTV = 0;
    let oldest = newest;
    for (let i = 0; i < this.count; i++) {
      const k = (this.start + i) % MAX_POINTS;
      const tMs = this.ts[k]!;
      if (tMs < from) continue;
      if (tMs < oldest) oldest = tMs;
      // Minutes relative to the newest reading keep the sums small and exact enough.
      const t = (tMs - newest) / MINUTE_MS;
      const v = this.values[k]!;
      n++;
      sumT += t;
      sumV += v;
      sumTT += t * t;
      sumTV += t * v;
    }
    if (n < MIN_POINTS || newest - oldest < MIN_SPAN_MS) return undefined;
    const denominator = n * sumTT - sumT * sumT;
    if (denominator === 0) return undefined;
    const slope = (n * sumTV - sumT * sumV) / denominator;
    const intercept = (sumV - slope * sumT) / n;
    return {
      slopeMgDlPerMinute: slope,
      fittedNowMgDl: intercept,
      projectedMgDl: intercept + slope * horizonMinutes,
    };
  }

  clear(): void {
    this.count = 0;
    this.start = 0;
  }
}
