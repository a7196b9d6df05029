import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { applyStreamMessage } from '../api/live-cache.ts';
import type { SecurityEvent } from '../api/types.ts';
import { fakeApi } from '../test-support.tsx';
import { SecurityEvents } from './SecurityEvents.tsx';

const event = (id: number, code = 'VIGIL_ERR_MQTT_TOPIC_DENIED'): SecurityEvent => ({
  id,
  ts: new Date(Date.UTC(2026, 10, 27, 12, id)).toISOString(),
  code,
  severity: 'high',
  detail: `refusal ${id}`,
  deviceId: 'sim-cgm-001',
});

describe('security events', () => {
  it('marks events that arrive over the stream as new until they are marked seen', async () => {
    let events = [event(2), event(1)];
    fakeApi({ 'GET /api/v1/security/events': () => ({ body: { events } }) });
    const client = new QueryClient({ defaultOptions: { queries: { retry: false, refetchInterval: false } } });
    render(
      <QueryClientProvider client={client}>
        <SecurityEvents />
      </QueryClientProvider>,
    );
    await screen.findByText('refusal 2');
    expect(screen.queryByText('New')).toBeNull();

    const fresh = event(3, 'VIGIL_ERR_DEVICE_CERT_MISSING');
    events = [fresh, ...events];
    applyStreamMessage(client, { type: 'security', event: fresh });
    const row = (await screen.findByText('refusal 3')).closest('tr');
    expect(within(row!).getByText('New')).toBeInTheDocument();
    expect(screen.getByText('1 new')).toBeInTheDocument();
    expect(screen.getByRole('status', { name: '' })).toHaveTextContent('1 new security event');

    await userEvent.setup().click(screen.getByRole('button', { name: 'Mark as seen' }));
    expect(screen.queryByText('New')).toBeNull();
    expect(screen.queryByText('1 new')).toBeNull();
  });
});
