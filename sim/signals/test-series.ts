import type { Reading, Signal } from './types.ts';

/** Test helpers: drive a signal through simulated time the way the fleet does. */

export const T0 = Date.UTC(2026, 10, 22); // a local midnight at UTC offset 0

/** Every reading measured up to `toMs`, sampling from `fromMs` every `stepMs` and at `toMs`. */
export function run(signal: Signal, fromMs: number, toMs: number, stepMs: number): Reading[] {
  const out: Reading[] = [];
  for (let t = fromMs; t < toMs; t += stepMs) out.push(...signal.sample(t));
  out.push(...signal.sample(toMs));
  return out;
}

export function valuesOf(readings: readonly Reading[], code: string): number[] {
  return readings.filter((r) => r.code === code).map((r) => r.value);
}

/** Values of `code` measured in [fromMs, toMs). */
export function valuesBetween(
  readings: readonly Reading[],
  code: string,
  fromMs: number,
  toMs: number,
): number[] {
  return readings
    .filter((r) => r.code === code && Date.parse(r.ts ?? '') >= fromMs && Date.parse(r.ts ?? '') < toMs)
    .map((r) => r.value);
}

export function timesOf(readings: readonly Reading[], code: string): number[] {
  return readings.filter((r) => r.code === code).map((r) => Date.parse(r.ts ?? ''));
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Maximal runs of consecutive indices where `predicate` holds, as [first, last] index pairs. */
export function runsWhere(xs: readonly number[], predicate: (x: number) => boolean): [number, number][] {
  const runs: [number, number][] = [];
  let start = -1;
  xs.forEach((x, i) => {
    if (predicate(x)) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      runs.push([start, i - 1]);
      start = -1;
    }
  });
  if (start >= 0) runs.push([start, xs.length - 1]);
  return runs;
}
