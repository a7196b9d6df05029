import type { QueryClient, QueryKey } from '@tanstack/react-query';
import { lttb } from '../lib/lttb.ts';
import type { StreamMessage, StreamReading } from './stream-messages.ts';
import type { Alert, Observation, Series, SeriesPoint } from './types.ts';

/**
 * Feeds stream messages into TanStack Query's caches, so screens change without asking the
 * server again (each ask is an audited read of patient data): chart series gain points,
 * latest values move on, alerts appear and change state in place. Only caches that a screen
 * has already filled are touched; nothing here creates data a screen did not ask for.
 */
export function applyStreamMessage(client: QueryClient, m: StreamMessage, nowMs = Date.now()): void {
  switch (m.type) {
    case 'readings':
      appendReadings(client, m.patientId, m.deviceId, m.readings, nowMs);
      return;
    case 'alert':
      upsertAlert(client, m.alert);
      return;
    case 'security':
      // Lists are filtered on the server (code, device); asking again keeps those filters right.
      void client.invalidateQueries({ queryKey: ['security-events'] });
      return;
    default:
      return;
  }
}

type SeriesAnswer = { series: Series[] };
type LatestAnswer = { latest: Observation[] };
type AlertsAnswer = { alerts: Alert[] };

/** How many alerts a list asks for (GET /api/v1/alerts?limit=); the live list keeps to it too. */
export const ALERT_LIST_LIMIT = 500;

/** What a chart asked the server for: readings since `fromMs`, thinned to `maxPoints`. */
export interface SeriesWindow {
  fromMs: number;
  maxPoints: number;
}

/**
 * A series query's window from its key (['series'|'recent', patientId, rangeMs, points]):
 * while the stream is live nothing polls, so the cache alone must keep the chart to its range.
 */
function windowOf(key: QueryKey, nowMs: number): SeriesWindow | undefined {
  const [, , rangeMs, points] = key;
  if (typeof rangeMs !== 'number' || typeof points !== 'number') return undefined;
  return { fromMs: nowMs - rangeMs, maxPoints: points };
}

function appendReadings(
  client: QueryClient,
  patientId: string,
  deviceId: string,
  readings: StreamReading[],
  nowMs: number,
) {
  if (readings.length === 0) return;
  // Every range the patient page or list has open for this patient: ['series'|'recent', id, ...].
  for (const kind of ['series', 'recent'])
    for (const [key, old] of client.getQueriesData<SeriesAnswer>({ queryKey: [kind, patientId] }))
      if (old)
        client.setQueryData<SeriesAnswer>(key, {
          ...old,
          series: mergeIntoSeries(old.series, readings, windowOf(key, nowMs)),
        });
  client.setQueriesData<LatestAnswer>({ queryKey: ['latest', patientId] }, (old) =>
    old ? { ...old, latest: mergeLatest(old.latest, deviceId, readings) } : old,
  );
}

/**
 * Inserts readings in time order; a point already there (same time and value) is not doubled.
 * With a window, points older than its start leave (as they would from a fresh query), and a
 * series longer than the points asked for is thinned again by LTTB rather than cut, so the
 * chart still spans its whole range and keeps its peaks.
 */
export function mergeIntoSeries(
  series: readonly Series[],
  readings: readonly StreamReading[],
  window?: SeriesWindow,
): Series[] {
  const out = series.map((s) => ({ ...s, points: [...s.points] }));
  for (const r of readings) {
    const t = Date.parse(r.ts);
    if (window && t < window.fromMs) continue;
    let s = out.find((x) => x.code === r.code);
    if (!s) {
      s = { code: r.code, unit: r.unit, readings: 0, points: [] };
      out.push(s);
    }
    const point: SeriesPoint = r.questionable
      ? { effective: r.ts, value: r.value, questionable: true }
      : { effective: r.ts, value: r.value };
    let i = s.points.length;
    while (i > 0 && Date.parse(s.points[i - 1]!.effective) > t) i--;
    const same = s.points[i - 1];
    if (same && Date.parse(same.effective) === t && same.value === r.value) continue;
    s.points.splice(i, 0, point);
    s.readings++;
  }
  return window ? out.map((s) => keepToWindow(s, window)) : out;
}

function keepToWindow(s: Series, window: SeriesWindow): Series {
  const first = s.points.findIndex((p) => Date.parse(p.effective) >= window.fromMs);
  const gone = first < 0 ? s.points.length : first;
  const inRange = gone === 0 ? s.points : s.points.slice(gone);
  const points = lttb(
    inRange,
    window.maxPoints,
    (p) => Date.parse(p.effective),
    (p) => p.value,
  );
  // A point the server sent may stand for several readings; count at least one per point gone.
  return { ...s, points, readings: Math.max(s.readings - gone, inRange.length) };
}

export function mergeLatest(
  latest: readonly Observation[],
  deviceId: string,
  readings: readonly StreamReading[],
): Observation[] {
  const byCode = new Map(latest.map((o) => [o.code, o]));
  for (const r of readings) {
    const seen = byCode.get(r.code);
    if (seen && Date.parse(seen.effective) > Date.parse(r.ts)) continue;
    byCode.set(r.code, { code: r.code, value: r.value, unit: r.unit, effective: r.ts, device: deviceId });
  }
  return [...byCode.values()];
}

function upsertAlert(client: QueryClient, alert: Alert) {
  const update = (old: AlertsAnswer | undefined): AlertsAnswer | undefined => {
    if (!old) return old;
    const i = old.alerts.findIndex((a) => a.id === alert.id);
    if (i >= 0) {
      const alerts = [...old.alerts];
      alerts[i] = alert;
      return { ...old, alerts };
    }
    return { ...old, alerts: keepToLimit([alert, ...old.alerts], ALERT_LIST_LIMIT) };
  };
  client.setQueryData<AlertsAnswer>(['alerts', 'all'], update);
  client.setQueryData<AlertsAnswer>(['alerts', alert.patient], update);
}

/**
 * Over the limit, the oldest resolved alerts leave first (the list is newest first). An open
 * or acknowledged alert is never dropped to make room: it is still something to act on.
 */
export function keepToLimit(alerts: readonly Alert[], limit: number): Alert[] {
  let excess = alerts.length - limit;
  if (excess <= 0) return [...alerts];
  const kept: Alert[] = [];
  for (let i = alerts.length - 1; i >= 0; i--) {
    const a = alerts[i]!;
    if (excess > 0 && a.state === 'resolved') excess--;
    else kept.push(a);
  }
  return kept.reverse();
}

/** What to ask again after the stream was down: whatever may have changed meanwhile. */
export function refetchAfterGap(client: QueryClient): void {
  for (const key of ['series', 'recent', 'latest', 'alerts', 'security-events'])
    void client.invalidateQueries({ queryKey: [key] });
}
