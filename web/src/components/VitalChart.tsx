import { useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Series } from '../api/types.ts';
import { formatValue, type Threshold, vitalInfo } from '../lib/vitals.ts';
import { chartOptions, toChartData } from './chart-options.ts';
import { TrendArrow } from './TrendArrow.tsx';

const HEIGHT = 220;

/**
 * One vital over time with its alert thresholds. Drag to zoom, double-click to reset; the
 * buttons do the same from the keyboard. New data keeps the zoom the reader chose.
 */
export function VitalChart(props: { series: Series; thresholds: readonly Threshold[] }) {
  const { series, thresholds } = props;
  const info = vitalInfo(series.code, series.unit);
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const [isZoomed, setZoomed] = useState(false);
  const zoomed = useRef(false);
  const last = series.points.at(-1);
  const questionable = useMemo(() => series.points.filter((p) => p.questionable).length, [series.points]);
  const hasQuestionable = questionable > 0;
  const data = useMemo(() => toChartData(series.points, hasQuestionable), [series.points, hasQuestionable]);
  const thresholdKey = thresholds.map((t) => `${t.label}:${t.value}`).join();

  // biome-ignore lint/correctness/useExhaustiveDependencies: the chart is rebuilt only when its shape changes; data updates go through setData below.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts = chartOptions({
      label: info.label,
      unit: info.unit,
      width: el.clientWidth || 600,
      height: HEIGHT,
      thresholds,
      withQuestionable: hasQuestionable,
    });
    opts.hooks = {
      setSelect: [],
      setScale: [
        (u, key) => {
          if (key !== 'x') return;
          const xs = u.data[0];
          const min = u.scales.x?.min;
          const max = u.scales.x?.max;
          const isWhole =
            !xs?.length || (min !== undefined && max !== undefined && min <= xs[0]! && max >= xs.at(-1)!);
          zoomed.current = !isWhole;
          setZoomed(!isWhole);
        },
      ],
    };
    const u = new uPlot(opts, data, el);
    chart.current = u;
    const resize =
      typeof ResizeObserver === 'undefined'
        ? undefined
        : new ResizeObserver(() => u.setSize({ width: el.clientWidth || 600, height: HEIGHT }));
    resize?.observe(el);
    return () => {
      resize?.disconnect();
      u.destroy();
      chart.current = null;
    };
  }, [series.code, thresholdKey, hasQuestionable]);

  useEffect(() => {
    chart.current?.setData(data, !zoomed.current);
  }, [data]);

  const zoom = (factor: number) => {
    const u = chart.current;
    const min = u?.scales.x?.min;
    const max = u?.scales.x?.max;
    if (!u || min === undefined || max === undefined) return;
    const mid = (min + max) / 2;
    const half = ((max - min) / 2) * factor;
    u.setScale('x', { min: mid - half, max: mid + half });
  };
  const reset = () => {
    const u = chart.current;
    const xs = u?.data[0];
    if (u && xs?.length) u.setScale('x', { min: xs[0]!, max: xs.at(-1)! });
  };

  const title = `${info.label} chart`;
  return (
    <figure
      className="vital-chart"
      aria-label={title}
      data-code={series.code}
      data-points={series.points.length}
      data-questionable={questionable}
    >
      <figcaption>
        <strong>{info.label}</strong>{' '}
        {last ? (
          <>
            <span className="latest">
              latest {formatValue(series.code, last.value)} {info.unit}
            </span>{' '}
            <TrendArrow code={series.code} points={series.points} />
          </>
        ) : (
          <span>no readings in this range</span>
        )}{' '}
        <span className="muted">
          · {series.points.length} points shown of {series.readings} readings
        </span>
        {questionable > 0 && (
          <span className="questionable-note">
            {' '}
            · ◯ {questionable} questionable (implausible jump, flat line or device clock)
          </span>
        )}
      </figcaption>
      <div className="chart-tools">
        <button type="button" onClick={() => zoom(0.5)} aria-label={`Zoom in on ${info.label}`}>
          Zoom in
        </button>
        <button type="button" onClick={() => zoom(2)} aria-label={`Zoom out on ${info.label}`}>
          Zoom out
        </button>
        <button type="button" onClick={reset} disabled={!isZoomed} aria-label={`Show all of ${info.label}`}>
          Reset
        </button>
      </div>
      <div ref={box} className="chart-canvas" />
    </figure>
  );
}
