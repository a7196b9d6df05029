import { QueryClient } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import { applyStreamMessage, mergeIntoSeries } from './live-cache.ts';
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
    applyStreamMessage(client, {
      type: 'readings',
      patientId: 'p1',
      deviceId: 'd1',
      readings: [reading(5, 88, true)],
    });
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
});
