/**
 * The simulator's two clocks. Physiology runs on simulated time, `timeCompression` times
 * faster than the wall clock, so a day of glucose can pass in minutes. Everything sent to
 * Vigil is stamped in wall-clock time: each simulated instant maps back to the real instant
 * it was simulated at. Stamping simulated time instead would run ahead of the server's
 * clock, and Vigil refuses timestamps more than 5 minutes in the future.
 */
export class SimClock {
  constructor(
    readonly realStartMs: number,
    readonly timeCompression: number,
  ) {}

  /** Simulated now: the simulation starts at the real start time and runs faster from there. */
  simNow(realMs: number = Date.now()): number {
    return this.realStartMs + (realMs - this.realStartMs) * this.timeCompression;
  }

  /** The wall-clock instant at which simulated instant `simMs` was (or will be) reached. */
  toRealMs(simMs: number): number {
    return this.realStartMs + (simMs - this.realStartMs) / this.timeCompression;
  }

  /** ISO 8601 wall-clock stamp for a simulated instant, at whole milliseconds. */
  stamp(simMs: number): string {
    return new Date(Math.floor(this.toRealMs(simMs))).toISOString();
  }
}
