import type { Reading } from '../readings-codec.ts';
import { CODES } from './alert-conditions.ts';

/** Scripted signal traces for the alert tests: small factories, deterministic noise. */

export const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
export const MINUTE = 60_000;

/** Uniform noise in [-amplitude, amplitude], the same for the same seed and index. */
export function noise(seed: number, i: number, amplitude: number): number {
  let h = (seed * 374_761_393 + i * 668_265_263) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 1_274_126_177) >>> 0;
  return ((h / 4_294_967_296) * 2 - 1) * amplitude;
}

/** CGM glucose every `cadenceMin` minutes, linear from `from` to `to` over `minutes`, then flat. */
export function glucoseTrace(o: {
  from: number;
  to: number;
  minutes: number;
  totalMinutes?: number;
  cadenceMin?: number;
  startMs?: number;
  noiseMgDl?: number;
}): Reading[] {
  const cadence = o.cadenceMin ?? 5;
  const total = o.totalMinutes ?? o.minutes;
  const out: Reading[] = [];
  for (let m = 0, i = 0; m <= total; m += cadence, i++) {
    const f = Math.min(1, m / o.minutes);
    const value = Math.round(o.from + (o.to - o.from) * f + noise(7, i, o.noiseMgDl ?? 0));
    out.push({ code: CODES.glucose, value, tsMs: (o.startMs ?? T0) + m * MINUTE });
  }
  return out;
}

/** 1 Hz readings of one code for `seconds`, valued by `at(second)`. */
export function perSecond(code: string, seconds: number, at: (s: number) => number, startMs = T0): Reading[] {
  const out: Reading[] = [];
  for (let s = 0; s < seconds; s++) out.push({ code, value: at(s), tsMs: startMs + s * 1000 });
  return out;
}

/** SpO2 around 96 % with ±1.5 noise, dipping to about 87 % from `dipAt` for `dipSeconds`. */
export function spo2WithDip(seconds: number, dipAt: number, dipSeconds: number, startMs = T0): Reading[] {
  return perSecond(
    CODES.spo2,
    seconds,
    (s) => Math.round((s >= dipAt && s < dipAt + dipSeconds ? 87 : 96) + noise(3, s, 1.5)),
    startMs,
  );
}
