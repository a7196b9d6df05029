import { QueryClient } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import { applyStreamMessage, keepToLimit, mergeIntoSeries } from './live-cache.ts';
import type { Alert, Observation, Series } from './types.ts';

const T = (minute: number) => new Date(Date.UTC(2026, 10, 22, 10, minute)).toISOString();
const reading = (minute: number, value: number, questionable = false) => ({
  code: '8867-4',
  value,
  unit: '/min',
  ts: T(minute),
  questionable,
});
const heartRate = (values: number[]): Series => ({
  code: '8867-4',
  unit: '/min',
  readings: values.length,
  points: values.map((value, i) => ({ effective: T(i), value })),
});
const alert = (o: Partial<Alert>): Alert => ({
  id: 'a-1',
  patient: 'p1',
  condition: 'glucose-low',
  title: 'Glucose low',
  device: 'd1',
  urgency: 'warning',
  state: 'open',
  value: 62,
  opened: T(0),
  acknowledgedBy: null,
  snoozedUntil: null,
  ...o,
});

describe('stream into the caches', () => {
  it('appends readings to every open chart range of the patient, and only that patient', () => {
    const client = new QueryClient();
    client.setQueryData(['series', 'p1', 3_600_000, 2000], { series: [heartRate([70, 71])] });
    client.setQueryData(['series', 'p1', 86_400_000, 2000], { series: [heartRate([70, 71])] });
    client.setQueryData(['series', 'p2', 3_600_000, 2000], { series: [heartRate([60])] });
    applyStreamMessage(
      client,
      {
        type: 'readings',
        patientId: 'p1',
        deviceId: 'd1',
        readings: [reading(5, 88, true)],
      },
      Date.parse(T(5)),
    );
    for (const range of [3_600_000, 86_400_000]) {
      const s = client.getQueryData<{ series: Series[] }>(['series', 'p1', range, 2000])!.series[0]!;
      expect(s.points.at(-1)).toEqual({ effective: T(5), value: 88, questionable: true });
      expect(s.readings).toBe(3);
    }
    expect(
      client.getQueryData<{ series: Series[] }>(['series', 'p2', 3_600_000, 2000])!.series[0]!.points,
    ).toHaveLength(1);
  });

  it('keeps time order for a late reading, adds a new vital, and does not double a reading it has', () => {
    const merged = mergeIntoSeries(
      [heartRate([70, 71, 72])],
      [reading(1, 71), reading(1, 75), { ...reading(2, 97), code: '59408-5', unit: '%' }],
    );
    expect(merged[0]!.points.map((p) => p.value)).toEqual([70, 71, 75, 72]);
    expect(merged[1]).toMatchObject({ code: '59408-5', readings: 1, points: [{ value: 97 }] });
  });

  it('moves the latest value on only for a newer reading', () => {
    const client = new QueryClient();
    const latest: Observation[] = [
      { code: '8867-4', value: 70, unit: '/min', effective: T(10), device: 'd1' },
    ];
    client.setQueryData(['latest', 'p1'], { latest });
    applyStreamMessage(client, {
      type: 'readings',
      patientId: 'p1',
      deviceId: 'd1',
      readings: [reading(9, 50)],
    });
    expect(client.getQueryData<{ latest: Observation[] }>(['latest', 'p1'])!.latest[0]!.value).toBe(70);
    applyStreamMessage(client, {
      type: 'readings',
      patientId: 'p1',
      deviceId: 'd2',
      readings: [reading(11, 90)],
    });
    expect(client.getQueryData<{ latest: Observation[] }>(['latest', 'p1'])!.latest[0]).toMatchObject({
      value: 90,
      device: 'd2',
    });
  });

  it('shows a raised alert first in the inbox and changes an acknowledged one in place', () => {
    const client = new QueryClient();
    client.setQueryData(['alerts', 'all'], { alerts: [alert({ id: 'old' })] });
    client.setQueryData(['alerts', 'p1'], { alerts: [] });
    applyStreamMessage(client, { type: 'alert', action: 'raise', alert: alert({}) });
    expect(client.getQueryData<{ alerts: Alert[] }>(['alerts', 'all'])!.alerts.map((a) => a.id)).toEqual([
      'a-1',
      'old',
    ]);
    applyStreamMessage(client, {
      type: 'alert',
      action: 'acknowledge',
      alert: alert({ state: 'acknowledged', acknowledgedBy: 'user:dr.lee' }),
    });
    const all = client.getQueryData<{ alerts: Alert[] }>(['alerts', 'all'])!.alerts;
    expect(all).toHaveLength(2);
    expect(all[0]).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'user:dr.lee' });
    expect(client.getQueryData<{ alerts: Alert[] }>(['alerts', 'p1'])!.alerts).toHaveLength(1);
  });

  it('creates no cache a screen did not ask for', () => {
    const client = new QueryClient();
    applyStreamMessage(client, {
      type: 'readings',
      patientId: 'p9',
      deviceId: 'd1',
      readings: [reading(1, 70)],
    });
    applyStreamMessage(client, { type: 'alert', action: 'raise', alert: alert({ patient: 'p9' }) });
    expect(client.getQueryCache().getAll()).toHaveLength(0);
  });

  it('keeps a live chart to its range: readings older than the range leave, on the stream alone', () => {
    const client = new QueryClient();
    const hourMs = 3_600_000;
    client.setQueryData(['series', 'p1', hourMs, 2000], { series: [heartRate([70, 71, 72])] });
    // An hour and a minute after T(0): T(0) is now outside the one-hour range.
    applyStreamMessage(
      client,
      { type: 'readings', patientId: 'p1', deviceId: 'd1', readings: [reading(0, 50), reading(61, 80)] },
      Date.parse(T(0)) + hourMs + 60_000,
    );
    const s = client.getQueryData<{ series: Series[] }>(['series', 'p1', hourMs, 2000])!.series[0]!;
    expect(s.points.map((p) => p.effective)).toEqual([T(1), T(2), T(61)]);
    expect(s.readings).toBe(3);
  });

  it('keeps the trend list to its range too', () => {
    const client = new QueryClient();
    client.setQueryData(['recent', 'p1', 120_000, 200], { series: [heartRate([70, 71, 72])] });
    applyStreamMessage(
      client,
      { type: 'readings', patientId: 'p1', deviceId: 'd1', readings: [reading(3, 74)] },
      Date.parse(T(3)),
    );
    const s = client.getQueryData<{ series: Series[] }>(['recent', 'p1', 120_000, 200])!.series[0]!;
    expect(s.points.map((p) => p.value)).toEqual([71, 72, 74]);
  });

  it('thins a live chart to the points it asked for, keeping its whole span and its peaks', () => {
    const base = heartRate(Array.from({ length: 10 }, () => 70));
    const readings = Array.from({ length: 40 }, (_, i) => reading(10 + i, i === 20 ? 140 : 70));
    const [s] = mergeIntoSeries([base], readings, { fromMs: Date.parse(T(0)), maxPoints: 12 });
    expect(s!.points).toHaveLength(12);
    expect(s!.points[0]!.effective).toBe(T(0));
    expect(s!.points.at(-1)!.effective).toBe(T(49));
    expect(s!.points.map((p) => p.value)).toContain(140);
    expect(s!.readings).toBe(50);
  });

  it('stays bounded however long the stream runs', () => {
    let series = [heartRate([70])];
    for (let minute = 1; minute < 600; minute++)
      series = mergeIntoSeries(series, [reading(minute, 70 + (minute % 9))], {
        fromMs: Date.parse(T(minute)) - 3_600_000,
        maxPoints: 50,
      });
    expect(series[0]!.points.length).toBeLessThanOrEqual(50);
    expect(Date.parse(series[0]!.points[0]!.effective)).toBeGreaterThanOrEqual(
      Date.parse(T(599)) - 3_600_000,
    );
  });

  it('keeps the alert list to its limit by dropping the oldest resolved alerts, never an open one', () => {
    const list = [
      alert({ id: 'new', state: 'open' }),
      alert({ id: 'r2', state: 'resolved' }),
      alert({ id: 'acked', state: 'acknowledged' }),
      alert({ id: 'r1', state: 'resolved' }),
      alert({ id: 'old-open', state: 'open' }),
    ];
    expect(keepToLimit(list, 4).map((a) => a.id)).toEqual(['new', 'r2', 'acked', 'old-open']);
    expect(keepToLimit(list, 2).map((a) => a.id)).toEqual(['new', 'acked', 'old-open']);
    expect(keepToLimit(list, 9)).toHaveLength(5);
  });

  it('does not let the live inbox grow past the list limit', () => {
    const client = new QueryClient();
    const resolved = Array.from({ length: 500 }, (_, i) => alert({ id: `r-${i}`, state: 'resolved' }));
    client.setQueryData(['alerts', 'all'], { alerts: resolved });
    for (let i = 0; i < 20; i++)
      applyStreamMessage(client, { type: 'alert', action: 'raise', alert: alert({ id: `n-${i}` }) });
    const all = client.getQueryData<{ alerts: Alert[] }>(['alerts', 'all'])!.alerts;
    expect(all).toHaveLength(500);
    expect(all[0]!.id).toBe('n-19');
    expect(all.at(-1)!.id).toBe('r-479');
  });
});
