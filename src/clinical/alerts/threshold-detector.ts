export interface ThresholdSpec {
  direction: 'below' | 'above';
  threshold: number;
  /** Width of the band beyond the threshold that neither raises nor clears: stops flapping. */
  hysteresis: number;
  /** The condition must hold this long, by reading timestamps, before it is raised. */
  sustainMs: number;
  /** ...and must be gone this long before it clears (0 for spot measurements). */
  clearMs: number;
  /** A gap between readings longer than this breaks a pending run: no reading, no evidence. */
  maxGapMs: number;
}

export type DetectorStep = 'raise' | 'update' | 'clear' | undefined;

/**
 * A two-level, two-timer threshold: the condition starts when a value crosses the threshold
 * and continues while it stays beyond threshold ± hysteresis; it is raised once it has
 * continued for sustainMs of reading time, and cleared once values have been back inside the
 * normal band for clearMs. Values in the hysteresis band keep whatever run is under way.
 * Time comes only from reading timestamps, never from the wall clock, so a replayed trace
 * gives the same alerts as the live one. Readings older than the last one seen are ignored.
 */
export class ThresholdDetector {
  isActive = false;
  /** The most extreme value since raised (lowest for 'below'). */
  worst = Number.NaN;
  private runStartMs: number | undefined;
  private lastTsMs = Number.NEGATIVE_INFINITY;

  constructor(public spec: ThresholdSpec) {}

  observe(value: number, tsMs: number): DetectorStep {
    if (tsMs < this.lastTsMs) return undefined;
    const { spec } = this;
    if (tsMs - this.lastTsMs > spec.maxGapMs) this.runStartMs = undefined;
    this.lastTsMs = tsMs;
    const below = spec.direction === 'below';
    const enters = below ? value < spec.threshold : value > spec.threshold;
    const stays = below ? value < spec.threshold + spec.hysteresis : value > spec.threshold - spec.hysteresis;
    if (!this.isActive) {
      if (enters) {
        this.runStartMs ??= tsMs;
        if (tsMs - this.runStartMs >= spec.sustainMs) {
          this.isActive = true;
          this.runStartMs = undefined;
          this.worst = value;
          return 'raise';
        }
      } else if (!stays) {
        this.runStartMs = undefined;
      }
      return undefined;
    }
    if (!stays) {
      this.runStartMs ??= tsMs;
      if (tsMs - this.runStartMs >= spec.clearMs) {
        this.reset();
        return 'clear';
      }
      return undefined;
    }
    if (enters) this.runStartMs = undefined;
    if (below ? value < this.worst : value > this.worst) {
      this.worst = value;
      return 'update';
    }
    return undefined;
  }

  /** A questionable reading is no evidence either way: it breaks a pending run. */
  interrupt(): void {
    this.runStartMs = undefined;
  }

  /** Takes up a condition raised before a restart: it clears as any other once values recover. */
  restore(worst: number): void {
    this.isActive = true;
    this.runStartMs = undefined;
    this.worst = worst;
  }

  /** Forgets the condition (resolved by hand, or superseded by another alert). */
  reset(): void {
    this.isActive = false;
    this.runStartMs = undefined;
    this.worst = Number.NaN;
  }
}
