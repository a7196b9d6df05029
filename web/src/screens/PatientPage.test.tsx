import { QueryClientProvider } from '@tanstack/react-query';
import { render, screen, within } from '@testing-library/react';
import { act } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { createQueryClient } from '../api/queries.ts';
import { exactTime } from '../lib/time.ts';
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

  it('says the server cannot be reached, and that it retries, instead of "Loading readings…" for ever', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch');
    });
    // The app's own client, which tries a failed request again (the case that said "Loading…").
    render(
      <QueryClientProvider client={createQueryClient()}>
        <PatientPage patientId="p-1" />
      </QueryClientProvider>,
    );
    const notices = await screen.findAllByRole('alert');
    expect(notices.map((n) => n.textContent)).toContain(
      'Could not load readings: The server cannot be reached; check the connection. Retrying…',
    );
    expect(screen.queryByText(/Loading readings/)).toBeNull();
    expect(screen.queryByText(/Alert thresholds are not available/)).toBeNull();
  });

  it('says so while a request goes unanswered (a hung server never fails it)', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    vi.stubGlobal('fetch', () => new Promise<Response>(() => undefined));
    renderWithClient(<PatientPage patientId="p-1" />);
    expect(screen.getByRole('status')).toHaveTextContent('Loading readings…');
    await act(async () => {
      vi.advanceTimersByTime(15_000);
    });
    expect(screen.getByRole('alert')).toHaveTextContent(
      /The server has not answered for 1\d s; still waiting for readings/,
    );
    vi.useRealTimers();
  });

  it('heads the page with the patient’s name and birth date when the server knows them', async () => {
    fakeApi({
      'GET /api/v1/patients': {
        body: { patients: [{ id: 'p-1', name: 'Ada Lovelace', birthDate: '1950-03-02' }] },
      },
      'GET /api/v1/patients/p-1/observations': { body: { series: [] } },
      'GET /api/v1/alerts': { body: { alerts: [] } },
    });
    renderWithClient(<PatientPage patientId="p-1" />);
    expect(await screen.findByRole('heading', { level: 1, name: 'Ada Lovelace' })).toBeInTheDocument();
    expect(screen.getByText('Patient p-1 · born 1950-03-02')).toBeInTheDocument();
  });

  it('gives the latest value its time, written out, and marks it old after 5 minutes', async () => {
    const at = (minutesAgo: number, value: number) => ({
      effective: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
      value,
    });
    // Made once: a second read of the clock may fall in the next second.
    const hrLatest = at(2, 86);
    fakeApi({
      'GET /api/v1/patients/p-1/observations': {
        body: {
          series: [
            { code: '8867-4', unit: '/min', readings: 2, points: [at(3, 80), hrLatest] },
            { code: '59408-5', unit: '%', readings: 2, points: [at(30, 97), at(20, 96)] },
          ],
        },
      },
      'GET /api/v1/alerts': { body: { alerts: [] } },
    });
    renderWithClient(<PatientPage patientId="p-1" />);
    const [heart, spo2] = await screen.findAllByRole('figure');
    const latestHr = hrLatest.effective;
    expect(within(heart!).getByText('latest 86 /min')).toBeInTheDocument();
    expect(heart).toHaveTextContent(`2 min ago at ${exactTime(latestHr)}`);
    expect(within(heart!).getByText('2 min ago')).toHaveAttribute('title', exactTime(latestHr));
    expect(within(heart!).queryByText('old reading')).toBeNull();
    expect(within(spo2!).getByText('20 min ago')).toBeInTheDocument();
    expect(within(spo2!).getByText('old reading')).toBeInTheDocument();
  });
});
