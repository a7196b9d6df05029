import { describe, expect, it } from 'vitest';
import type { Alert, Device } from '../api/types.ts';
import { chartOptions, toChartData, yRange } from '../components/chart-options.ts';
import { alertValue, byUrgency, patientAlertSummary } from './alerts.ts';
import { certificateStatus, deviceStatus } from './devices.ts';
import { matchRoute } from './router.ts';
import { thresholdsFor, valueStatus } from './vitals.ts';

const alert = (o: Partial<Alert>): Alert => ({
  id: 'a',
  patient: 'p-1',
  condition: 'glucose-low',
  title: 'Glucose low',
  device: null,
  urgency: 'warning',
  state: 'open',
  value: 60,
  opened: '2026-11-22T10:00:00Z',
  acknowledgedBy: null,
  snoozedUntil: null,
  ...o,
});

const device = (o: Partial<Device>): Device => ({
  id: 'd-1',
  model: 'Ox',
  serial: 'S',
  status: 'active',
  patientId: null,
  firmware: null,
  battery: null,
  lastSeen: null,
  certificateExpires: null,
  enrolled: true,
  quarantineReason: null,
  ...o,
});

describe('alert thresholds', () => {
  const rules = { glucoseUrgentLowMgDl: 54, glucoseLowMgDl: 70, glucoseHighMgDl: 250, spo2LowPercent: 90 };
  it('draws urgent-low solid and low/high dashed for glucose', () => {
    expect(thresholdsFor('2339-0', rules)).toEqual([
      { value: 54, label: 'urgent low', level: 'urgent' },
      { value: 70, label: 'low', level: 'warning' },
      { value: 250, label: 'high', level: 'warning' },
    ]);
  });
  it('has no lines without rules or for a code without rules', () => {
    expect(thresholdsFor('2339-0', undefined)).toEqual([]);
    expect(thresholdsFor('29463-7', rules)).toEqual([]);
  });
  it('tells low, high and normal values apart', () => {
    expect(valueStatus('59408-5', 88, rules)).toBe('low');
    expect(valueStatus('59408-5', 97, rules)).toBe('normal');
    expect(valueStatus('2339-0', 300, rules)).toBe('high');
    expect(valueStatus('29463-7', 70, rules)).toBe('unknown');
  });
});

describe('alert inbox order', () => {
  it('puts urgent before warning, open before acknowledged, newest first', () => {
    const list = [
      alert({ id: 'old-warning', opened: '2026-11-22T09:00:00Z' }),
      alert({ id: 'acked-urgent', urgency: 'urgent', state: 'acknowledged' }),
      alert({ id: 'new-warning', opened: '2026-11-22T11:00:00Z' }),
      alert({ id: 'urgent', urgency: 'urgent' }),
    ];
    expect(list.sort(byUrgency).map((a) => a.id)).toEqual([
      'urgent',
      'acked-urgent',
      'new-warning',
      'old-warning',
    ]);
  });
  it('summarises a patient by the worst unresolved alert', () => {
    expect(patientAlertSummary([alert({}), alert({ urgency: 'urgent' })])).toEqual({
      tone: 'danger',
      label: '1 urgent alert',
    });
    expect(patientAlertSummary([alert({ state: 'resolved' })])).toEqual({
      tone: 'ok',
      label: 'No open alerts',
    });
  });
  it('shows the value with its unit', () => {
    expect(alertValue(alert({ value: 45 }))).toBe('45 mg/dL');
    expect(alertValue(alert({ condition: 'signal-loss' }))).toBe('');
  });
});

describe('device status', () => {
  const now = Date.parse('2026-11-22T10:00:00Z');
  it('names quarantine, enrolment and silence in words', () => {
    expect(deviceStatus(device({ status: 'quarantined' }), now).label).toBe('Quarantined');
    expect(deviceStatus(device({ enrolled: false }), now).label).toBe('Not enrolled');
    expect(deviceStatus(device({ lastSeen: '2026-11-22T09:00:00Z' }), now).label).toBe('Offline');
    expect(deviceStatus(device({ lastSeen: '2026-11-22T09:59:00Z' }), now)).toEqual({
      tone: 'ok',
      label: 'Online',
    });
  });
  it('warns two weeks before a certificate ends', () => {
    expect(certificateStatus(device({ certificateExpires: '2026-11-30T00:00:00Z' }), now)?.tone).toBe(
      'warning',
    );
    expect(certificateStatus(device({ certificateExpires: '2026-11-01T00:00:00Z' }), now)?.tone).toBe(
      'danger',
    );
    expect(certificateStatus(device({}), now)).toBeNull();
    // The dashboard's one date format, not the browser locale's (04/12/2026 or 12/4/2026).
    expect(certificateStatus(device({ certificateExpires: '2027-06-15T12:00:00Z' }), now)?.label).toBe(
      '2027-06-15',
    );
  });
});

describe('routes', () => {
  it('matches the dashboard paths and nothing else', () => {
    expect(matchRoute('/')).toEqual({ screen: 'home' });
    expect(matchRoute('/patients/p-1')).toEqual({ screen: 'patient', patientId: 'p-1' });
    expect(matchRoute('/fleet/')).toEqual({ screen: 'fleet' });
    expect(matchRoute('/patients/a/b').screen).toBe('unknown');
    expect(matchRoute('/patients/%3Cscript%3E').screen).toBe('unknown');
  });
});

describe('chart data', () => {
  it('turns readings into uPlot columns in seconds', () => {
    expect(toChartData([{ effective: '2026-11-22T10:00:01Z', value: 72 }])).toEqual([[1795341601], [72]]);
  });
  it('puts questionable readings in a series of their own, with a legend entry', () => {
    const data = toChartData(
      [
        { effective: '2026-11-22T10:00:01Z', value: 72 },
        { effective: '2026-11-22T10:00:02Z', value: 190, questionable: true },
      ],
      true,
    );
    expect(data[2]).toEqual([null, 190]);
    const base = { label: 'Heart rate', unit: '/min', width: 400, height: 200, thresholds: [] };
    expect(chartOptions({ ...base, withQuestionable: true }).series[2]?.label).toMatch(
      /^Questionable reading/,
    );
    expect(chartOptions(base).series).toHaveLength(2);
  });
  it('keeps every threshold in the y range, with a margin', () => {
    const [lo, hi] = yRange(70, 80, [{ value: 40, label: 'low', level: 'urgent' }]);
    expect(lo).toBeLessThan(40);
    expect(hi).toBeGreaterThan(80);
    expect(yRange(null, null, [])).toEqual([0, 1]);
  });
  it('labels the series with its unit and allows drag-zoom on time only', () => {
    const opts = chartOptions({ label: 'Heart rate', unit: '/min', width: 400, height: 200, thresholds: [] });
    expect(opts.series[1]?.label).toBe('Heart rate (/min)');
    expect(opts.cursor?.drag).toEqual({ x: true, y: false });
  });
});
