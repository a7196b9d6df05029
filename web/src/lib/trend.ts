/**
 * Which way a vital is heading, from its recent readings, as CGM receivers show it: an arrow
 * and a phrase. The rate is the least-squares slope over the last 15 minutes (Dexcom and
 * Libre both look back about that far), so one noisy reading does not flip the arrow.
 */
export type Trend = 'rising-fast' | 'rising' | 'steady' | 'falling' | 'falling-fast';

export interface TrendResult {
  trend: Trend;
  /** Units of the vital per minute (for glucose mg/dL/min, as on CGM receivers). */
  perMinute: number;
}

export interface TrendPoint {
  effective: string;
  value: number;
  /** Questionable readings (data-quality notice) say nothing about direction: left out. */
  questionable?: boolean | undefined;
}

/** How far back a trend looks, from the newest reading. */
export const TREND_WINDOW_MS = 15 * 60_000;
/** Fewer readings, or a shorter span, say nothing reliable about direction. */
const MIN_POINTS = 3;
const MIN_SPAN_MS = 4 * 60_000;

const GLUCOSE_CODES = new Set(['2339-0', '99504-3']);
const SPO2 = '59408-5';

/**
 * Rate thresholds in units per minute: [rising, rising fast]; falling mirrors them.
 * Glucose: ±1 and ±2 mg/dL/min, the CGM convention (Dexcom G6/G7 user guide, trend arrows).
 * SpO2 sits near its ceiling, so a relative rule would miss a real fall: 2 and 4 percentage
 * points per 15 minutes. Every other vital: 5 % and 10 % of its current level per 15 minutes
 * (heart rate 70 -> 74 in 15 min is rising, -> 77 rising fast).
 */
export function trendThresholds(code: string, level: number): [number, number] {
  if (GLUCOSE_CODES.has(code)) return [1, 2];
  if (code === SPO2) return [2 / 15, 4 / 15];
  const scale = Math.max(Math.abs(level), 1e-6);
  return [(0.05 * scale) / 15, (0.1 * scale) / 15];
}

export function classifyRate(code: string, perMinute: number, level: number): Trend {
  const [slow, fast] = trendThresholds(code, level);
  if (perMinute >= fast) return 'rising-fast';
  if (perMinute >= slow) return 'rising';
  if (perMinute <= -fast) return 'falling-fast';
  if (perMinute <= -slow) return 'falling';
  return 'steady';
}

/**
 * A trend is only shown while it describes now: once the newest reading is this old, the
 * arrow (say "rising fast" from before the device went quiet) would pass for the current one.
 */
export const TREND_MAX_AGE_MS = 5 * 60_000;

/**
 * The trend over the last TREND_WINDOW_MS of readings (any order), or null when too few, or,
 * given `nowMs`, when the newest reading is older than TREND_MAX_AGE_MS.
 */
export function trendOf(code: string, points: readonly TrendPoint[], nowMs?: number): TrendResult | null {
  const timed: Array<{ t: number; v: number }> = [];
  for (const p of points) {
    if (p.questionable) continue;
    const t = Date.parse(p.effective);
    if (Number.isFinite(t) && Number.isFinite(p.value)) timed.push({ t, v: p.value });
  }
  if (timed.length < MIN_POINTS) return null;
  let newest = -Infinity;
  for (const p of timed) newest = Math.max(newest, p.t);
  if (nowMs !== undefined && nowMs - newest > TREND_MAX_AGE_MS) return null;
  const recent = timed.filter((p) => p.t >= newest - TREND_WINDOW_MS);
  if (recent.length < MIN_POINTS) return null;
  let oldest = Infinity;
  for (const p of recent) oldest = Math.min(oldest, p.t);
  if (newest - oldest < MIN_SPAN_MS) return null;
  // Least squares in minutes relative to the oldest point (keeps the sums small and exact).
  const n = recent.length;
  let sx = 0;
  let sy = 0;
  for (const p of recent) {
    sx += (p.t - oldest) / 60_000;
    sy += p.v;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of recent) {
    const dx = (p.t - oldest) / 60_000 - mx;
    sxy += dx * (p.v - my);
    sxx += dx * dx;
  }
  if (sxx === 0) return null;
  const perMinute = sxy / sxx;
  return { trend: classifyRate(code, perMinute, my), perMinute };
}

/** Arrows as on CGM receivers; the words are what screen readers say and what the title shows. */
export const TREND_ARROW: Readonly<Record<Trend, string>> = {
  'rising-fast': '⇈',
  rising: '↗',
  steady: '→',
  falling: '↘',
  'falling-fast': '⇊',
};

export const TREND_WORDS: Readonly<Record<Trend, string>> = {
  'rising-fast': 'rising fast',
  rising: 'rising',
  steady: 'steady',
  falling: 'falling',
  'falling-fast': 'falling fast',
};
