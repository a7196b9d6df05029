import { act, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { useLiveUpdates } from '../api/live.ts';
import type { SocketLike } from '../api/stream.ts';
import { PatientPage } from '../screens/PatientPage.tsx';
import { fakeApi, renderWithClient } from '../test-support.tsx';
import { LiveIndicator } from './LiveIndicator.tsx';

/** The server end of a fake WebSocket: the test sends frames and closes it. */
const sockets: SocketLike[] = [];
const openFake = (_url: string): SocketLike => {
  const s: SocketLike = { onmessage: null, onclose: null, onerror: null, close: () => undefined };
  sockets.push(s);
  return s;
};
const send = (m: unknown) => act(() => sockets.at(-1)?.onmessage?.({ data: JSON.stringify(m) }));

function BadgeOnly() {
  useLiveUpdates(openFake);
  return <LiveIndicator />;
}

function LiveTab() {
  useLiveUpdates(openFake);
  return (
    <>
      <LiveIndicator />
      <PatientPage patientId="p-1" />
    </>
  );
}

const point = (minutesAgo: number, value: number) => ({
  effective: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
  value,
});

describe('live updates in a signed-in tab', () => {
  it('says in words whether it is live, and adds streamed readings to the open chart', async () => {
    fakeApi({
      'GET /api/v1/patients/p-1/observations': {
        body: {
          series: [
            { code: '8867-4', unit: '/min', readings: 3, points: [point(3, 70), point(2, 71), point(1, 72)] },
          ],
        },
      },
      'GET /api/v1/alerts': { body: { alerts: [] } },
    });
    renderWithClient(<LiveTab />);
    expect(screen.getByText(/Connecting…/)).toHaveAttribute('role', 'status');
    const chart = await screen.findByRole('figure', { name: 'Heart rate chart' });
    expect(chart).toHaveAttribute('data-points', '3');
    send({ type: 'hello', topics: ['readings', 'alerts'], patients: null });
    expect(screen.getByText(/Live/)).toBeInTheDocument();
    send({
      type: 'readings',
      patientId: 'p-1',
      deviceId: 'd-1',
      readings: [
        { code: '8867-4', value: 93, unit: '/min', ts: new Date().toISOString(), questionable: false },
      ],
    });
    // TanStack Query tells observers on its next tick, hence waiting rather than expecting at once.
    await waitFor(() => expect(chart).toHaveAttribute('data-points', '4'));
    expect(screen.getByText('latest 93 /min')).toBeInTheDocument();
    act(() => sockets.at(-1)?.onclose?.({ code: 1006, reason: '' }));
    expect(screen.getByText(/Reconnecting…/)).toBeInTheDocument();
  });
});

describe('live badge when the stream goes silent', () => {
  afterEach(() => vi.useRealTimers());

  it('says "No data for N s" once a heartbeat is missed, counting on its own, and Live again after a frame', () => {
    vi.useFakeTimers();
    renderWithClient(<BadgeOnly />);
    send({ type: 'hello', topics: ['readings'], patients: null });
    expect(screen.getByRole('status')).toHaveTextContent('Live');
    act(() => vi.advanceTimersByTime(20_000));
    expect(screen.getByRole('status')).toHaveTextContent('No data for 20 s');
    expect(screen.getByRole('status')).toHaveAttribute('data-stream', 'stale');
    act(() => vi.advanceTimersByTime(10_000));
    expect(screen.getByRole('status')).toHaveTextContent('No data for 30 s');
    send({ type: 'heartbeat', ts: new Date().toISOString() });
    expect(screen.getByRole('status')).toHaveTextContent(/^●Live$/);
  });

  it('reconnects after two missed heartbeats and says for how long nothing came', () => {
    vi.useFakeTimers();
    renderWithClient(<BadgeOnly />);
    send({ type: 'hello', topics: ['readings'], patients: null });
    const before = sockets.length;
    act(() => vi.advanceTimersByTime(40_000));
    expect(sockets.length).toBeGreaterThan(before);
    expect(screen.getByRole('status')).toHaveTextContent('Reconnecting… (no data for 40 s)');
  });
});
