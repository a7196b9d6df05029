import type { QueryClient } from '@tanstack/react-query';
import type { StreamMessage, StreamReading } from './stream-messages.ts';
import type { Alert, Observation, Series, SeriesPoint } from './types.ts';

/**
 * Feeds stream messages into TanStack Query's caches, so screens change without asking the
 * server again (each ask is an audited read of patient data): chart series gain points,
 * latest values move on, alerts appear and change state in place. Only caches that a screen
 * has already filled are touched; nothing here creates data a screen did not ask for.
 */
export function applyStreamMessage(client: QueryClient, m: StreamMessage): void {
  switch (m.type) {
    case 'readings':
      appendReadings(client, m.patientId, m.deviceId, m.readings);
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

function appendReadings(client: QueryClient, patientId: string, deviceId: string, readings: StreamReading[]) {
  if (readings.length === 0) return;
  const addTo = (old: SeriesAnswer | undefined): SeriesAnswer | undefined =>
    old ? { ...old, series: mergeIntoSeries(old.series, readings) } : old;
  // Every range the patient page or list has open for this patient: ['series'|'recent', id, ...].
  client.setQueriesData<SeriesAnswer>({ queryKey: ['series', patientId] }, addTo);
  client.setQueriesData<SeriesAnswer>({ queryKey: ['recent', patientId] }, addTo);
  client.setQueriesData<LatestAnswer>({ queryKey: ['latest', patientId] }, (old) =>
    old ? { ...old, latest: mergeLatest(old.latest, deviceId, readings) } : old,
  );
}

/** Inserts readings in time order; a point already there (same time and value) is not doubled. */
export function mergeIntoSeries(series: readonly Series[], readings: readonly StreamReading[]): Series[] {
  const out = series.map((s) => ({ ...s, points: [...s.points] }));
  for (const r of readings) {
    let s = out.find((x) => x.code === r.code);
    if (!s) {
      s = { code: r.code, unit: r.unit, readings: 0, points: [] };
      out.push(s);
    }
    const point: SeriesPoint = r.questionable
      ? { effective: r.ts, value: r.value, questionable: true }
      : { effective: r.ts, value: r.value };
    const t = Date.parse(r.ts);
    let i = s.points.length;
    while (i > 0 && Date.parse(s.points[i - 1]!.effective) > t) i--;
    const same = s.points[i - 1];
    if (same && Date.parse(same.effective) === t && same.value === r.value) continue;
    s.points.splice(i, 0, point);
    s.readings++;
  }
  return out;
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
    if (i < 0) return { ...old, alerts: [alert, ...old.alerts] };
    const alerts = [...old.alerts];
    alerts[i] = alert;
    return { ...old, alerts };
  };
  client.setQueryData<AlertsAnswer>(['alerts', 'all'], update);
  client.setQueryData<AlertsAnswer>(['alerts', alert.patient], update);
}

/** What to ask again after the stream was down: whatever may have changed meanwhile. */
export function refetchAfterGap(client: QueryClient): void {
  for (const key of ['series', 'recent', 'latest', 'alerts', 'security-events'])
    void client.invalidateQueries({ queryKey: [key] });
}
