/**
 * Latency samples and their percentiles. Samples are kept whole (not bucketed) up to a fixed
 * cap, so p99 is exact for any run this benchmark makes; past the cap the recorder keeps a
 * uniform reservoir and says so.
 */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  /** True when more samples arrived than were kept (reservoir sampling). */
  sampled: boolean;
}

const DEFAULT_CAP = 1_000_000;

export class LatencyRecorder {
  private readonly samples: Float64Array;
  private keptCount = 0;
  private seen = 0;
  private sum = 0;
  private largest = 0;

  constructor(private readonly cap = DEFAULT_CAP) {
    this.samples = new Float64Array(cap);
  }

  get count(): number {
    return this.seen;
  }

  record(ms: number): void {
    this.seen += 1;
    this.sum += ms;
    if (ms > this.largest) this.largest = ms;
    if (this.keptCount < this.cap) {
      this.samples[this.keptCount++] = ms;
      return;
    }
    // Reservoir (Algorithm R): every sample stays with probability cap / seen.
    const slot = Math.floor(Math.random() * this.seen);
    if (slot < this.cap) this.samples[slot] = ms;
  }

  /** The kept samples, unsorted (to merge recorders of several generator threads). */
  keptSamples(): Float64Array {
    return this.samples.slice(0, this.keptCount);
  }

  summary(): LatencySummary {
    const sorted = this.samples.slice(0, this.keptCount).sort();
    return {
      count: this.seen,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: this.largest,
      mean: this.seen === 0 ? 0 : this.sum / this.seen,
      sampled: this.seen > this.keptCount,
    };
  }
}

/** Nearest-rank percentile of ascending samples; 0 for none. */
export function percentile(sorted: Float64Array | readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  const index = Math.min(sorted.length - 1, Math.max(0, rank - 1));
  return sorted[index] ?? 0;
}

/**
 * The run with the median p99 among runs at the same load: the middle one, or the higher of the
 * middle two when their number is even (so a tie between two runs is judged on the worse).
 */
export function medianByP99<T extends { run: { latency: LatencySummary } }>(runs: readonly T[]): T {
  const sorted = [...runs].sort((a, b) => a.run.latency.p99 - b.run.latency.p99);
  const median = sorted[Math.floor(sorted.length / 2)];
  if (!median) throw new Error('no runs to take the median of');
  return median;
}
