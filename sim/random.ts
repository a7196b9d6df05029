/**
 * Seeded randomness for the simulator, so a run (and a failing test) can be replayed from
 * its seed. Not for anything secret: mulberry32 is a tiny, fast, statistically decent
 * 32-bit generator, and predictability is the point here.
 */

const TWO_POW_32 = 4_294_967_296;

/** mulberry32 (Tommy Ettinger's public-domain generator): uniform numbers in [0, 1). */
export class Random {
  private state: number;
  /** Box–Muller yields normals in pairs; the second one waits here for the next call. */
  private spareNormal: number | undefined;

  constructor(seed: number) {
    this.state = toUint32(seed);
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / TWO_POW_32;
  }

  /** Uniform in [min, max). */
  range(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** A normal deviate by the Box–Muller transform. */
  normal(mean: number, sd: number): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return mean + sd * z;
    }
    // 1 - next() lies in (0, 1], so the logarithm stays finite.
    const radius = Math.sqrt(-2 * Math.log(1 - this.next()));
    const angle = 2 * Math.PI * this.next();
    this.spareNormal = radius * Math.sin(angle);
    return mean + sd * radius * Math.cos(angle);
  }
}

/**
 * A seed derived from a parent seed and a path of labels and numbers (a stream name, a day
 * index, a timestamp). Models draw from derived seeds rather than one shared sequence, so a
 * value depends only on (seed, what, when): the series is the same however often, in what
 * order, or from which starting time it is sampled.
 */
export function deriveSeed(seed: number, ...parts: readonly (number | string)[]): number {
  let h = toUint32(seed) ^ 0x9e3779b9;
  for (const part of parts) {
    if (typeof part === 'string') {
      h = mix(h, hashString(part));
    } else {
      // Millisecond timestamps exceed 32 bits: mix the high and low words separately.
      const whole = Math.floor(part);
      h = mix(mix(h, Math.floor(whole / TWO_POW_32)), whole >>> 0);
    }
  }
  return h >>> 0;
}

/** One standard normal deviate fixed by (seed, stream, time): measurement noise as a pure function. */
export function gaussianAt(seed: number, stream: string, tMs: number): number {
  return new Random(deriveSeed(seed, stream, tMs)).normal(0, 1);
}

function toUint32(n: number): number {
  return Number.isFinite(n) ? Math.floor(n) >>> 0 : 0;
}

/** The murmur3 finaliser folded over a running hash: every input bit affects every output bit. */
function mix(h: number, value: number): number {
  let x = Math.imul(h ^ (value >>> 0), 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** FNV-1a over UTF-16 code units. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}
