export interface ThresholdSpec {
  direction: 'below' | 'above';
  threshold: number;
  /** Width of the band beyond the threshold that neither raises nor clears: stops flapping. */
  hysteresis: number;
  /** The condition must hold this long, by reading timestamps, before it is raised. */
  sustainMs: number;
  /** ...and must be gone this long before it clears (0 for spot measurements). */
  clearMs: number;
  /**
   * Readings further apart than this cannot show a condition held for sustainMs (a device
   * reporting once a minute, a cuff every 15 min): there, two consecutive readings beyond the
   * threshold are the evidence, one alone is not (a single artefact must not page anyone). A
   * dense device that drops out for a while starts its run afresh after the gap.
   */
  maxGapMs: number;
  /** The threshold itself counts as beyond it (fever is >= 38.3 °C, IDSA 2008). */
  isInclusive?: boolean;
}

export type DetectorStep = 'raise' | 'update' | 'clear' | undefined;

/**
 * A two-level, two-timer threshold: the condition starts when a value crosses the threshold
 * and continues while it stays beyond threshold ± hysteresis; it is raised once it has
 * continued for sustainMs of reading time, and cleared once values have been back inside the
 * normal band for clearMs. Values in the hysteresis band keep whatever run is under way.
 * Time comes only from reading timestamps, never from the wall clock, so a replayed trace
 * gives the same alerts as the live one. A reading older than the last one seen (observeLate)
 * can raise a condition one reading meets, but times nothing.
 */
export class ThresholdDetector {
  isActive = false;
  /** The most extreme value since raised (lowest for 'below'). */
  worst = Number.NaN;
  private runStartMs: number | undefined;
  private lastTsMs = Number.NEGATIVE_INFINITY;
  /** Whether the previous reading was beyond the threshold (raising) or inside the normal band (clearing). */
  private wasPastThreshold = false;
  /** Whether the previous reading, too, came after a gap: the device's cadence is sparse. */
  private wasSparse = false;

  constructor(public spec: ThresholdSpec) {}

  /** `sustainMs` overrides the spec's for this reading: stronger evidence may raise sooner. */
  observe(value: number, tsMs: number, sustainMs = this.spec.sustainMs): DetectorStep {
    if (tsMs < this.lastTsMs) return this.observeLate(value, sustainMs);
    const { spec } = this;
    const isSparse = tsMs - this.lastTsMs > spec.maxGapMs;
    this.lastTsMs = tsMs;
    const below = spec.direction === 'below';
    const enters = this.isPastThreshold(value);
    const stays = below ? value < spec.threshold + spec.hysteresis : value > spec.threshold - spec.hysteresis;
    // A device that reports sparser than the gap (not a dense one that dropped out for a while):
    // a run cannot be timed there, so the previous reading past the threshold is the run.
    const isSparsePair = isSparse && this.wasSparse && this.wasPastThreshold;
    this.wasSparse = isSparse;
    if (isSparse) this.runStartMs = undefined;
    if (!this.isActive) {
      this.wasPastThreshold = enters;
      if (enters) {
        this.runStartMs ??= tsMs;
        if (isSparsePair || tsMs - this.runStartMs >= sustainMs) {
          this.isActive = true;
          this.runStartMs = undefined;
          this.wasPastThreshold = false;
          this.worst = value;
          return 'raise';
        }
      } else if (!stays) {
        this.runStartMs = undefined;
      }
      return undefined;
    }
    if (!stays) {
      this.wasPastThreshold = true;
      this.runStartMs ??= tsMs;
      if (isSparsePair || tsMs - this.runStartMs >= spec.clearMs) {
        this.reset();
        return 'clear';
      }
      return undefined;
    }
    this.wasPastThreshold = false;
    if (enters) this.runStartMs = undefined;
    if (below ? value < this.worst : value > this.worst) {
      this.worst = value;
      return 'update';
    }
    return undefined;
  }

  /**
   * A reading stamped before the last one seen: another device of the patient synced late (a
   * finger-stick meter after the CGM's newer readings). 42 mg/dL is a low whenever it was
   * measured, so where one reading suffices (sustainMs 0) it raises, and a worse value updates.
   * It cannot time a run or a recovery among readings it did not follow, so it clears nothing,
   * and leaves the timing of the live readings (lastTsMs, pending runs) as it was.
   */
  private observeLate(value: number, sustainMs: number): DetectorStep {
    const below = this.spec.direction === 'below';
    if (this.isActive) {
      if (!(below ? value < this.worst : value > this.worst)) return undefined;
      this.worst = value;
      return 'update';
    }
    if (sustainMs > 0 || !this.isPastThreshold(value)) return undefined;
    this.isActive = true;
    this.runStartMs = undefined;
    this.wasPastThreshold = false;
    this.worst = value;
    return 'raise';
  }

  private isPastThreshold(value: number): boolean {
    const { spec } = this;
    return (
      (spec.direction === 'below' ? value < spec.threshold : value > spec.threshold) ||
      (spec.isInclusive === true && value === spec.threshold)
    );
  }

  /** A questionable reading is no evidence either way: it breaks a pending run. */
  interrupt(): void {
    this.runStartMs = undefined;
    this.wasPastThreshold = false;
  }

  /** Takes up a condition raised before a restart: it clears as any other once values recover. */
  restore(worst: number): void {
    this.isActive = true;
    this.runStartMs = undefined;
    this.wasPastThreshold = false;
    this.worst = worst;
  }

  /** Forgets the condition (resolved by hand, or superseded by another alert). */
  reset(): void {
    this.isActive = false;
    this.runStartMs = undefined;
    this.wasPastThreshold = false;
    this.worst = Number.NaN;
  }
}
