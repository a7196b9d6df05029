import { useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Series } from '../api/types.ts';
import { clock, OLD_READING_MS } from '../lib/time.ts';
import { formatValue, type Threshold, vitalInfo } from '../lib/vitals.ts';
import { chartOptions, timeWindow, toChartData } from './chart-options.ts';
import { RelativeTime, useNow } from './RelativeTime.tsx';
import { TrendArrow } from './TrendArrow.tsx';
import '../live.css';

const HEIGHT = 220;

/**
 * One vital over time with its alert thresholds, across the whole range chosen (ending now),
 * so a device that stopped sending shows as an empty stretch. Drag to zoom, double-click to
 * reset; the buttons do the same from the keyboard. New data keeps the zoom the reader chose.
 * The latest value carries its time ("2 min ago", and the exact time written out): a value
 * without one looks current however old it is.
 */
export function VitalChart(props: { series: Series; thresholds: readonly Threshold[]; rangeMs?: number }) {
  const { series, thresholds, rangeMs } = props;
  const nowMs = useNow();
  const [hover, setHover] = useState<{ t: number; v: number } | null>(null);
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
      ...(rangeMs === undefined ? {} : { rangeMs, isWholeRange: () => !zoomed.current }),
    });
    opts.hooks = {
      setSelect:
        rangeMs === undefined
          ? []
          : [
              (u) => {
                const { left, width } = u.select;
                if (width < 2) return;
                zoomed.current = true;
                u.setScale('x', { min: u.posToVal(left, 'x'), max: u.posToVal(left + width, 'x') });
                u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
              },
            ],
      setCursor: [
        (u) => {
          const i = u.cursor.idx;
          const t = i == null ? undefined : u.data[0]?.[i];
          const v = i == null ? undefined : u.data[1]?.[i];
          setHover(typeof t === 'number' && typeof v === 'number' ? { t, v } : null);
        },
      ],
      setScale: [
        (u, key) => {
          if (key !== 'x') return;
          const xs = u.data[0];
          const min = u.scales.x?.min;
          const max = u.scales.x?.max;
          // With a range, zooming says so itself (zoom, drag, reset, double-click); else all the data.
          const isWhole =
            rangeMs !== undefined
              ? !zoomed.current
              : !xs?.length || (min !== undefined && max !== undefined && min <= xs[0]! && max >= xs.at(-1)!);
          zoomed.current = !isWhole;
          setZoomed(!isWhole);
        },
      ],
    };
    const u = new uPlot(opts, data, el);
    chart.current = u;
    // uPlot's own double-click reset runs after this (capture phase): the whole range again.
    const unzoom = () => {
      zoomed.current = false;
    };
    u.root.addEventListener('dblclick', unzoom, true);
    const resize =
      typeof ResizeObserver === 'undefined'
        ? undefined
        : new ResizeObserver(() => u.setSize({ width: el.clientWidth || 600, height: HEIGHT }));
    resize?.observe(el);
    return () => {
      resize?.disconnect();
      u.root.removeEventListener('dblclick', unzoom, true);
      u.destroy();
      chart.current = null;
    };
  }, [series.code, thresholdKey, hasQuestionable, rangeMs]);

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
    // Zooming out past the range chosen is the whole range again.
    zoomed.current = rangeMs === undefined || half * 2 < rangeMs / 1000;
    u.setScale('x', { min: mid - half, max: mid + half });
  };
  const reset = () => {
    const u = chart.current;
    const xs = u?.data[0];
    if (!u || !xs?.length) return;
    zoomed.current = false;
    const [min, max] =
      rangeMs === undefined ? [xs[0]!, xs.at(-1)!] : timeWindow(rangeMs, Date.now(), xs[0]!, xs.at(-1)!);
    u.setScale('x', { min, max });
  };
  const lastMs = last ? Date.parse(last.effective) : Number.NaN;
  const isOld = nowMs - lastMs > OLD_READING_MS;

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
            {!isOld && <TrendArrow code={series.code} points={series.points} />}{' '}
            <span className="reading-time">
              <RelativeTime iso={last.effective} showExact />
              {isOld && <span className="old-tag">old reading</span>}
              <span className="muted">
                {' '}
                · {series.points.length} points shown of {series.readings} readings
              </span>
            </span>
          </>
        ) : (
          <span className="reading-time">
            no readings in this range
            <span className="muted">
              {' '}
              · {series.points.length} points shown of {series.readings} readings
            </span>
          </span>
        )}
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
      <span className="chart-hover" aria-hidden="true">
        {hover ? `${clock(hover.t * 1000)}: ${formatValue(series.code, hover.v)} ${info.unit}` : ''}
      </span>
    </figure>
  );
}
