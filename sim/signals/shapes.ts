import type { Random } from '../random.ts';

/** Time constants and smooth curves the physiological models are built from. */

export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** The patient's local clock hour in [0, 24): circadian rhythms follow local time, not UTC. */
export function hourOfDay(tMs: number, utcOffsetMinutes: number): number {
  const localMs = tMs + utcOffsetMinutes * MINUTE_MS;
  return (((localMs % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS;
}

/** Index of the patient's local day, so daily events (meals) are drawn once per day. */
export function localDayIndex(tMs: number, utcOffsetMinutes: number): number {
  return Math.floor((tMs + utcOffsetMinutes * MINUTE_MS) / DAY_MS);
}

/** Epoch ms of the local midnight that starts day `day`. */
export function localDayStartMs(day: number, utcOffsetMinutes: number): number {
  return day * DAY_MS - utcOffsetMinutes * MINUTE_MS;
}

/** 0 before 0, 1 after 1, an S-curve between: onsets in the body are gradual, not steps. */
export function smoothstep(x: number): number {
  const c = Math.min(1, Math.max(0, x));
  return c * c * (3 - 2 * c);
}

/** A 24-hour rhythm: +1 at `peakHour`, -1 twelve hours later. */
export function circadian(hour: number, peakHour: number): number {
  return Math.cos((2 * Math.PI * (hour - peakHour)) / 24);
}

/** A raised-cosine bump on the 24-hour clock: 1 at `centerHour`, 0 beyond `halfWidthHours`. */
export function clockBump(hour: number, centerHour: number, halfWidthHours: number): number {
  const raw = Math.abs(hour - centerHour) % 24;
  const distance = Math.min(raw, 24 - raw);
  if (distance >= halfWidthHours) return 0;
  return (1 + Math.cos((Math.PI * distance) / halfWidthHours)) / 2;
}

/**
 * Slow variation as a sum of sinusoids with seeded periods and phases. Unlike a random walk
 * it is a pure function of time, so it can be evaluated at any instant in any order. The sum
 * never exceeds `amplitude` in magnitude.
 */
export function slowWaves(
  rand: Random,
  count: number,
  amplitude: number,
  minPeriodMs: number,
  maxPeriodMs: number,
): (tMs: number) => number {
  const waves = Array.from({ length: count }, () => ({
    periodMs: rand.range(minPeriodMs, maxPeriodMs),
    phase: rand.range(0, 2 * Math.PI),
    weight: amplitude / count,
  }));
  return (tMs) => {
    let sum = 0;
    for (const w of waves) sum += w.weight * Math.sin((2 * Math.PI * tMs) / w.periodMs + w.phase);
    return sum;
  };
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

export function roundTo(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}
