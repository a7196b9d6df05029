import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Webhook, WebhookDelivery } from '../api/webhooks.ts';
import { exactTime } from '../lib/time.ts';
import { type FakeCall, fakeApi, problem, renderWithClient } from '../test-support.tsx';
import { Webhooks } from './Webhooks.tsx';

const PAGER = 'https://pager.example.org/in';
const CHAT = 'https://chat.example.org/hooks/vigil';

const webhook = (o: Partial<Webhook> = {}): Webhook => ({
  id: 'wh_0000000000000001',
  url: PAGER,
  events: ['alert.raised', 'device.quarantined'],
  description: 'pager bridge',
  createdBy: 'user:ops.admin',
  created: '2026-12-01T09:30:00.000Z',
  ...o,
});

const delivery = (o: Partial<WebhookDelivery> = {}): WebhookDelivery => ({
  id: 'msg_000000000000000000000001',
  webhook: 'wh_0000000000000001',
  event: 'alert.raised',
  state: 'delivered',
  attempts: 1,
  nextAttempt: null,
  lastStatus: 204,
  lastError: null,
  created: '2026-12-04T18:00:00.000Z',
  updated: '2026-12-04T18:00:01.000Z',
  ...o,
});

const DEAD = delivery({
  id: 'msg_00000000000000000000dead',
  event: 'device.quarantined',
  state: 'dead',
  attempts: 8,
  lastStatus: 500,
  lastError: 'answered 500',
  created: '2026-12-04T17:00:00.000Z',
  updated: '2026-12-04T17:40:00.000Z',
});

/** The deliveries routes answer by state: `?state=dead` is the dead-letter list. */
const deliveries = (all: WebhookDelivery[] | (() => WebhookDelivery[])) => ({
  'GET /api/v1/webhooks/deliveries': (call: FakeCall) => {
    const now = typeof all === 'function' ? all() : all;
    return {
      body: { deliveries: call.headers['x-state'] === 'dead' ? now.filter((d) => d.state === 'dead') : now },
    };
  },
});

/**
 * fakeApi drops the query string, so the fetch is wrapped to hand `state` on as a header the
 * fake routes above can read.
 */
function withStateHeader(calls: FakeCall[]) {
  const fake = globalThis.fetch;
  globalThis.fetch = (input: string | URL | Request, init: RequestInit = {}) => {
    const state = new URL(String(input), 'https://vigil.test').searchParams.get('state');
    const headers = { ...(init.headers as Record<string, string>), ...(state ? { 'x-state': state } : {}) };
    return fake(input, { ...init, headers });
  };
  return calls;
}

describe('webhooks screen', () => {
  it('lists subscriptions with URL, events, creation time and a state read from their deliveries', async () => {
    withStateHeader(
      fakeApi({
        'GET /api/v1/webhooks': {
          body: { webhooks: [webhook(), webhook({ id: 'wh_0000000000000002', url: CHAT, description: '' })] },
        },
        ...deliveries([
          delivery(),
          DEAD,
          delivery({ id: 'msg_000000000000000000000002', webhook: 'wh_0000000000000002' }),
        ]),
      }),
    );
    renderWithClient(<Webhooks canWrite={false} />);
    const table = await screen.findByRole('table', { name: 'Webhook subscriptions' });
    const pager = within(table).getByRole('row', { name: new RegExp(`^${PAGER}`) });
    expect(within(pager).getByText('pager bridge')).toBeInTheDocument();
    expect(within(pager).getByRole('list', { name: `Events sent to ${PAGER}` })).toHaveTextContent(
      'alert.raiseddevice.quarantined',
    );
    expect(within(pager).getByText(exactTime('2026-12-01T09:30:00.000Z'))).toBeInTheDocument();
    expect(await within(pager).findByText('1 dead letter')).toBeInTheDocument();
    const chat = within(table).getByRole('row', { name: new RegExp(`^${CHAT}`) });
    expect(within(chat).getByText('Receiving')).toBeInTheDocument();
    // Read-only: no form, no delete, no retry.
    expect(screen.queryByRole('form', { name: 'Subscribe a URL' })).toBeNull();
    expect(screen.queryByRole('button', { name: /^Delete/ })).toBeNull();
    expect(screen.getByText(/Your role may look at webhooks/)).toBeInTheDocument();
    const dead = await screen.findByRole('table', { name: `Dead letters to ${PAGER}` });
    expect(within(dead).getByRole('row', { name: /^device\.quarantined/ })).toHaveTextContent('answered 500');
    expect(screen.queryByRole('button', { name: /^Retry/ })).toBeNull();
  });

  it('shows recent deliveries per subscription with outcome, attempts and next attempt or last error', async () => {
    withStateHeader(
      fakeApi({
        'GET /api/v1/webhooks': {
          body: { webhooks: [webhook(), webhook({ id: 'wh_0000000000000002', url: CHAT })] },
        },
        ...deliveries([
          delivery({
            id: 'msg_000000000000000000000003',
            state: 'pending',
            attempts: 2,
            nextAttempt: '2026-12-04T18:05:00.000Z',
            lastStatus: null,
            lastError: 'ECONNREFUSED: connect ECONNREFUSED 10.0.0.7:443',
          }),
          delivery(),
          delivery({
            id: 'msg_000000000000000000000004',
            webhook: 'wh_0000000000000002',
            event: 'alert.resolved',
          }),
        ]),
      }),
    );
    renderWithClient(<Webhooks canWrite={true} />);
    const recent = await screen.findByRole('table', { name: `Recent deliveries to ${PAGER}` });
    const retrying = within(recent).getByRole('row', { name: /msg_000000000000000000000003/ });
    expect(within(retrying).getByText('Retrying')).toBeInTheDocument();
    expect(retrying).toHaveTextContent(`Next attempt ${exactTime('2026-12-04T18:05:00.000Z')}`);
    expect(retrying).toHaveTextContent('ECONNREFUSED');
    const delivered = within(recent).getByRole('row', { name: /msg_000000000000000000000001/ });
    expect(within(delivered).getByText('Delivered')).toBeInTheDocument();
    expect(within(recent).queryByText('alert.resolved')).toBeNull();
    expect(screen.getByText(/None: every delivery to this URL went through/)).toBeInTheDocument();

    await userEvent.setup().click(screen.getByRole('button', { name: `Deliveries to ${CHAT}` }));
    const other = screen.getByRole('table', { name: `Recent deliveries to ${CHAT}` });
    expect(within(other).getByText('alert.resolved')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: `Deliveries to ${CHAT}` })).toHaveAttribute(
      'aria-pressed',
      'true',
    );
  });

  it('subscribes a URL to the chosen events and shows the signing secret once, with its warning', async () => {
    let stored: Webhook[] = [];
    const calls = withStateHeader(
      fakeApi({
        'GET /api/v1/webhooks': () => ({ body: { webhooks: stored } }),
        'POST /api/v1/webhooks': (call) => {
          const body = call.body as { url: string; events: string[]; description: string };
          stored = [webhook({ ...body, id: 'wh_00000000000000aa' })];
          return { status: 201, body: { webhook: stored[0], secret: 'whsec_c2VjcmV0LXNpZ25pbmcta2V5' } };
        },
        ...deliveries([]),
      }),
    );
    renderWithClient(<Webhooks canWrite={true} />);
    const u = userEvent.setup();
    const form = await screen.findByRole('form', { name: 'Subscribe a URL' });
    expect(
      within(form)
        .getAllByRole('checkbox')
        .map((c) => c.getAttribute('value')),
    ).toEqual([
      'alert.raised',
      'alert.escalated',
      'alert.acknowledged',
      'alert.resolved',
      'device.quarantined',
      'device.released',
    ]);
    await u.type(within(form).getByLabelText(/^URL/), CHAT);
    await u.type(within(form).getByLabelText(/^Description/), 'ward chat');
    await u.click(within(form).getByLabelText('alert.escalated'));
    await u.click(within(form).getByLabelText('device.released'));
    await u.click(within(form).getByRole('button', { name: 'Subscribe' }));

    const secret = await screen.findByRole('region', { name: 'Signing secret' });
    expect(within(secret).getByTestId('one-time-secret')).toHaveTextContent('whsec_c2VjcmV0LXNpZ25pbmcta2V5');
    expect(secret).toHaveTextContent('You will not see this again.');
    expect(secret).toHaveTextContent(CHAT);
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      url: CHAT,
      events: ['alert.escalated', 'device.released'],
      description: 'ward chat',
    });
    expect(await screen.findByRole('row', { name: new RegExp(`^${CHAT}`) })).toHaveTextContent(
      'No deliveries yet',
    );
    await u.click(within(secret).getByRole('button', { name: 'Done, hide it' }));
    expect(screen.queryByText('whsec_c2VjcmV0LXNpZ25pbmcta2V5')).toBeNull();
    expect(screen.queryByRole('region', { name: 'Signing secret' })).toBeNull();
  });

  it('asks for an event before sending, and shows the server’s refusal next to the form', async () => {
    const calls = withStateHeader(
      fakeApi({
        'GET /api/v1/webhooks': { body: { webhooks: [] } },
        'POST /api/v1/webhooks': problem(
          422,
          'VIGIL_ERR_WEBHOOK_URL',
          'webhook url refused: use https:// (http is allowed to loopback only when configured)',
        ),
        ...deliveries([]),
      }),
    );
    renderWithClient(<Webhooks canWrite={true} />);
    const u = userEvent.setup();
    const form = await screen.findByRole('form', { name: 'Subscribe a URL' });
    await u.type(within(form).getByLabelText(/^URL/), 'http://hooks.example.org/in');
    await u.click(within(form).getByRole('button', { name: 'Subscribe' }));
    expect(within(form).getByRole('alert')).toHaveTextContent('Choose at least one event to send.');
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(0);

    await u.click(within(form).getByLabelText('alert.raised'));
    await u.click(within(form).getByRole('button', { name: 'Subscribe' }));
    expect(await within(form).findByRole('alert')).toHaveTextContent(
      'webhook url refused: use https:// (http is allowed to loopback only when configured)',
    );
    expect(screen.queryByRole('region', { name: 'Signing secret' })).toBeNull();
  });

  it('sends a dead letter again with Retry', async () => {
    let all = [DEAD];
    const calls = withStateHeader(
      fakeApi({
        'GET /api/v1/webhooks': { body: { webhooks: [webhook()] } },
        'POST /api/v1/webhooks/deliveries/msg_00000000000000000000dead/retry': () => {
          all = [{ ...DEAD, state: 'pending', attempts: 0, nextAttempt: '2026-12-04T19:00:00.000Z' }];
          return { body: all[0] };
        },
        ...deliveries(() => all),
      }),
    );
    renderWithClient(<Webhooks canWrite={true} />);
    const dead = await screen.findByRole('table', { name: `Dead letters to ${PAGER}` });
    await userEvent
      .setup()
      .click(
        within(dead).getByRole('button', { name: 'Retry device.quarantined msg_00000000000000000000dead' }),
      );
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual([
      '/api/v1/webhooks/deliveries/msg_00000000000000000000dead/retry',
    ]);
    expect(await screen.findByText(/None: every delivery to this URL went through/)).toBeInTheDocument();
    const recent = screen.getByRole('table', { name: `Recent deliveries to ${PAGER}` });
    expect(within(recent).getByText('Queued')).toBeInTheDocument();
  });

  it('deletes a subscription only after confirmation', async () => {
    const calls = withStateHeader(
      fakeApi({
        'GET /api/v1/webhooks': { body: { webhooks: [webhook()] } },
        'DELETE /api/v1/webhooks/wh_0000000000000001': { body: { deleted: 'wh_0000000000000001' } },
        ...deliveries([]),
      }),
    );
    renderWithClient(<Webhooks canWrite={true} />);
    const u = userEvent.setup();
    await u.click(await screen.findByRole('button', { name: `Delete ${PAGER}` }));
    expect(calls.filter((c) => c.method === 'DELETE')).toHaveLength(0);
    await u.click(screen.getByRole('button', { name: `Confirm delete ${PAGER}` }));
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual([
      '/api/v1/webhooks/wh_0000000000000001',
    ]);
  });
});
