import { TREND_ARROW, TREND_WORDS, type TrendPoint, trendOf } from '../lib/trend.ts';
import '../clinician.css';
import { vitalInfo } from '../lib/vitals.ts';
import { useNow } from './RelativeTime.tsx';

/**
 * The direction of one vital as an arrow; the arrow is hidden from screen readers, which read
 * the words instead ("Glucose 131 mg/dL, trend rising fast, +2.4 mg/dL per minute": the vital's
 * name and value come from the text around it).
 */
export function TrendArrow(props: { code: string; points: readonly TrendPoint[] }) {
  const result = trendOf(props.code, props.points, useNow());
  if (!result) return null;
  const info = vitalInfo(props.code);
  const words = TREND_WORDS[result.trend];
  const rate = `${result.perMinute >= 0 ? '+' : '−'}${Math.abs(result.perMinute).toFixed(1)} ${info.unit} per minute`;
  return (
    <span className={`trend trend-${result.trend}`} title={`${words}, ${rate}`} data-trend={result.trend}>
      <span aria-hidden="true">{TREND_ARROW[result.trend]}</span>
      <span className="sr-only">
        , trend {words}, {rate}
      </span>
    </span>
  );
}
