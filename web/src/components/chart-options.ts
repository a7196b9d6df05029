import type uPlot from 'uplot';
import { clock, dayOf } from '../lib/time.ts';
import type { Threshold } from '../lib/vitals.ts';

/**
 * uPlot's columnar data: times in seconds, every value, then (when any reading is
 * questionable) the questionable values alone, null elsewhere, which a second series draws as
 * hollow rings on top of the line.
 */
export type ChartData = [number[], number[]] | [number[], number[], Array<number | null>];

export function toChartData(
  points: ReadonlyArray<{ effective: string; value: number; questionable?: boolean }>,
  withQuestionable = false,
): ChartData {
  const t = new Array<number>(points.length);
  const v = new Array<number>(points.length);
  const q = new Array<number | null>(points.length);
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    t[i] = Date.parse(p.effective) / 1000;
    v[i] = p.value;
    q[i] = p.questionable ? p.value : null;
  }
  return withQuestionable ? [t, v, q] : [t, v];
}

/** Questionable readings: a large hollow ring in vermillion, unlike the small filled blue dots. */
export const QUESTIONABLE_SERIES: uPlot.Series = {
  label: 'Questionable reading (jump, flat line or clock)',
  stroke: '#D55E00',
  width: 0,
  paths: () => null,
  points: { show: true, size: 11, width: 2, stroke: '#D55E00', fill: '#ffffff' },
};

/** The y range covers the data and every threshold, so a clinician sees how far a value is from one. */
export function yRange(
  min: number | null,
  max: number | null,
  thresholds: readonly Threshold[],
): [number, number] {
  const values = [...thresholds.map((t) => t.value)];
  if (min !== null && Number.isFinite(min)) values.push(min);
  if (max !== null && Number.isFinite(max)) values.push(max);
  if (values.length === 0) return [0, 1];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = Math.max((hi - lo) * 0.08, 1);
  return [lo - pad, hi + pad];
}

/**
 * Where each threshold label goes, in canvas pixels: above its line, unless that would
 * overlap the label drawn before it (thresholds a few units apart, as "low 70" and "urgent
 * low 54" on a glucose chart), then below its own line. `ys` are the lines' y positions.
 */
export function thresholdLabelPlaces(
  ys: readonly number[],
  labelHeight: number,
  gap: number,
): Array<{ y: number; baseline: 'bottom' | 'top' }> {
  const order = ys.map((y, i) => ({ y, i })).sort((a, b) => a.y - b.y);
  const places = new Array<{ y: number; baseline: 'bottom' | 'top' }>(ys.length);
  let lastBottom = Number.NEGATIVE_INFINITY;
  for (const { y, i } of order) {
    const above = y - gap;
    if (above - labelHeight >= lastBottom) {
      places[i] = { y: above, baseline: 'bottom' };
      lastBottom = above;
    } else {
      places[i] = { y: y + gap, baseline: 'top' };
      lastBottom = y + gap + labelHeight;
    }
  }
  return places;
}

/** Threshold lines: urgent solid, warning dashed (the shape tells them apart, not only the colour). */
export function thresholdPlugin(thresholds: readonly Threshold[]): uPlot.Plugin {
  return {
    hooks: {
      draw: (u: uPlot) => {
        const { ctx, bbox } = u;
        const px = devicePixelRatio;
        ctx.save();
        ctx.font = `${Math.round(11 * px)}px system-ui, sans-serif`;
        // Labels sit at the left end: the axis spans the whole range chosen and ends now, so
        // the newest readings, the ones a clinician reads, are on the right.
        ctx.textAlign = 'left';
        const shown = thresholds
          .map((t) => ({ t, y: Math.round(u.valToPos(t.value, 'y', true)) }))
          .filter(({ y }) => y >= bbox.top && y <= bbox.top + bbox.height);
        const places = thresholdLabelPlaces(
          shown.map(({ y }) => y),
          13 * px,
          2 * px,
        );
        shown.forEach(({ t, y }, i) => {
          ctx.strokeStyle = t.level === 'urgent' ? '#D55E00' : '#E69F00';
          ctx.fillStyle = '#5a2a00';
          ctx.lineWidth = 1.5 * px;
          ctx.setLineDash(t.level === 'urgent' ? [] : [6 * px, 4 * px]);
          ctx.beginPath();
          ctx.moveTo(bbox.left, y);
          ctx.lineTo(bbox.left + bbox.width, y);
          ctx.stroke();
          const place = places[i]!;
          ctx.textBaseline = place.baseline;
          ctx.fillText(`${t.label} ${t.value}`, bbox.left + 4 * px, place.y);
        });
        ctx.restore();
      },
    },
  };
}

/**
 * Time-axis labels, 24-hour as everywhere else: "19:25" (with seconds when ticks are seconds
 * apart), the date "2026-12-04" under the first tick and wherever the day changes; ticks a day
 * or more apart show the date alone. `incrSec` is uPlot's distance between ticks.
 */
export function timeTickLabels(splitsSec: readonly number[], incrSec: number): string[] {
  let lastDay = '';
  return splitsSec.map((s) => {
    const ms = s * 1000;
    const day = dayOf(ms);
    if (incrSec >= 86_400) return day;
    const time = clock(ms, { seconds: incrSec < 60 });
    const isNewDay = day !== lastDay;
    lastDay = day;
    return isNewDay ? `${time}\n${day}` : time;
  });
}

/** The x range: the whole time range asked for, ending now, not just the minutes that have data. */
export function timeWindow(
  rangeMs: number,
  nowMs: number,
  dataMin: number | null,
  dataMax: number | null,
): [number, number] {
  const from = (nowMs - rangeMs) / 1000;
  const to = nowMs / 1000;
  return [Math.min(from, dataMin ?? from), Math.max(to, dataMax ?? to)];
}

export function chartOptions(opts: {
  label: string;
  unit: string;
  width: number;
  height: number;
  thresholds: readonly Threshold[];
  /** Adds the questionable-readings series (only charts that have some). */
  withQuestionable?: boolean;
  /** The time range shown when not zoomed, ending now (without it: the data's own span). */
  rangeMs?: number;
  /**
   * Whether the reader is looking at the whole range (not zoomed). uPlot asks the x range
   * function on every change, zooms included, so it must know which of the two it is.
   */
  isWholeRange?: () => boolean;
  now?: () => number;
}): uPlot.Options {
  const now = opts.now ?? Date.now;
  const isWholeRange = opts.isWholeRange ?? (() => true);
  return {
    width: opts.width,
    height: opts.height,
    scales: {
      x:
        opts.rangeMs === undefined
          ? { time: true }
          : {
              time: true,
              range: (_u, min, max) =>
                isWholeRange() ? timeWindow(opts.rangeMs!, now(), min, max) : [min, max],
            },
      y: { range: (_u, min, max) => yRange(min, max, opts.thresholds) },
    },
    series: [
      {},
      {
        label: `${opts.label} (${opts.unit})`,
        stroke: '#0072B2',
        width: 1.5,
        points: { show: (u) => (u.data[0]?.length ?? 0) < 120, size: 5, fill: '#0072B2' },
      },
      ...(opts.withQuestionable ? [QUESTIONABLE_SERIES] : []),
    ],
    axes: [
      {
        // Room for "2026-12-04" under a tick: labels never run into each other when zoomed.
        space: 80,
        size: 52,
        values: (_u, splits, _axis, _space, incr) => timeTickLabels(splits, incr),
      },
      { label: opts.unit, size: 56 },
    ],
    // With a range, a drag zooms through the chart's setSelect hook (which knows it is a zoom).
    cursor: {
      drag: opts.rangeMs === undefined ? { x: true, y: false } : { x: true, y: false, setScale: false },
    },
    // "Time: -- Heart rate: --" said nothing; the chart's caption shows the hovered reading.
    legend: { show: false },
    plugins: [thresholdPlugin(opts.thresholds)],
  };
}
