import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { fakeApi, renderWithClient } from '../test-support.tsx';
import { PatientPage } from './PatientPage.tsx';

const points = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    effective: new Date(Date.now() - (n - i) * 60_000).toISOString(),
    value: 70 + i,
  }));

describe('patient page', () => {
  it('draws a labelled chart per vital, heart rate before SpO2', async () => {
    fakeApi({
      'GET /api/v1/patients/p-1/observations': {
        body: {
          series: [
            { code: '59408-5', unit: '%', readings: 3, points: points(3) },
            { code: '8867-4', unit: '/min', readings: 5000, points: points(40) },
          ],
        },
      },
      'GET /api/v1/patients/p-1/alert-rules': { body: { effective: { heartRateHighPerMinute: 130 } } },
      'GET /api/v1/alerts': { body: { alerts: [] } },
    });
    renderWithClient(<PatientPage patientId="p-1" />);
    const charts = await screen.findAllByRole('figure');
    expect(charts.map((c) => c.getAttribute('aria-label'))).toEqual(['Heart rate chart', 'SpO₂ chart']);
    expect(charts[0]).toHaveAttribute('data-points', '40');
    expect(within(charts[0]!).getByText(/40 points shown of 5000 readings/)).toBeInTheDocument();
    expect(within(charts[0]!).getByText('latest 109 /min')).toBeInTheDocument();
    expect(within(charts[0]!).getByRole('button', { name: 'Zoom in on Heart rate' })).toBeEnabled();
  });

  it('offers the time ranges as a labelled radio group', async () => {
    fakeApi({
      'GET /api/v1/patients/p-1/observations': { body: { series: [] } },
      'GET /api/v1/alerts': { body: { alerts: [] } },
    });
    renderWithClient(<PatientPage patientId="p-1" />);
    const group = screen.getByRole('group', { name: 'Time range' });
    expect(within(group).getByRole('radio', { name: '6 h' })).toBeChecked();
    expect(await screen.findByText('No readings in this time range.')).toBeInTheDocument();
    expect(await screen.findByText(/thresholds are not available/)).toBeInTheDocument();
  });
});
