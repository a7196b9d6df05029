import type uPlot from 'uplot';
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

/** Threshold lines: urgent solid, warning dashed (the shape tells them apart, not only the colour). */
export function thresholdPlugin(thresholds: readonly Threshold[]): uPlot.Plugin {
  return {
    hooks: {
      draw: (u: uPlot) => {
        const { ctx, bbox } = u;
        ctx.save();
        ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
        ctx.textBaseline = 'bottom';
        // Labels sit at the right end, clear of the y-axis ticks on the left.
        ctx.textAlign = 'right';
        for (const t of thresholds) {
          const y = Math.round(u.valToPos(t.value, 'y', true));
          if (y < bbox.top || y > bbox.top + bbox.height) continue;
          ctx.strokeStyle = t.level === 'urgent' ? '#D55E00' : '#E69F00';
          ctx.fillStyle = '#5a2a00';
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.setLineDash(t.level === 'urgent' ? [] : [6 * devicePixelRatio, 4 * devicePixelRatio]);
          ctx.beginPath();
          ctx.moveTo(bbox.left, y);
          ctx.lineTo(bbox.left + bbox.width, y);
          ctx.stroke();
          ctx.fillText(
            `${t.label} ${t.value}`,
            bbox.left + bbox.width - 4 * devicePixelRatio,
            y - 2 * devicePixelRatio,
          );
        }
        ctx.restore();
      },
    },
  };
}

export function chartOptions(opts: {
  label: string;
  unit: string;
  width: number;
  height: number;
  thresholds: readonly Threshold[];
  /** Adds the questionable-readings series and its legend entry (only charts that have some). */
  withQuestionable?: boolean;
}): uPlot.Options {
  return {
    width: opts.width,
    height: opts.height,
    scales: {
      x: { time: true },
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
    axes: [{}, { label: opts.unit, size: 56 }],
    cursor: { drag: { x: true, y: false } },
    legend: { show: true, live: true },
    plugins: [thresholdPlugin(opts.thresholds)],
  };
}
