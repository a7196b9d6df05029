import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { setCsrfToken } from '../api/client.ts';
import { alertFixture, fakeApi, renderWithClient } from '../test-support.tsx';
import { AlertInbox } from './AlertInbox.tsx';

const ID_1 = '11111111-1111-4111-8111-111111111111';
const ID_2 = '22222222-2222-4222-8222-222222222222';
const alert = alertFixture;

describe('alert inbox', () => {
  beforeEach(() => setCsrfToken('C'.repeat(43)));

  it('lists urgent alerts first, each with a word and not only a colour', async () => {
    fakeApi({
      'GET /api/v1/alerts': {
        body: {
          alerts: [
            alert({}),
            alert({
              id: ID_2,
              condition: 'spo2-low',
              title: 'Oxygen saturation low',
              urgency: 'urgent',
              value: 86,
            }),
            alert({ id: 'r', state: 'resolved', title: 'Fever' }),
          ],
        },
      },
    });
    renderWithClient(<AlertInbox />);
    const items = await screen.findAllByRole('listitem');
    expect(items.map((i) => i.getAttribute('aria-label'))).toEqual([
      'urgent alert: Oxygen saturation low, patient p-1',
      'warning alert: Glucose low, patient p-1',
    ]);
    expect(within(items[0]!).getByText('Urgent')).toBeInTheDocument();
    expect(within(items[0]!).getByText('86 %')).toBeInTheDocument();
  });

  it('acknowledges with the CSRF token of the session', async () => {
    const calls = fakeApi({
      'GET /api/v1/alerts': { body: { alerts: [alert({})] } },
      [`POST /api/v1/alerts/${ID_1}/ack`]: { body: { alert: alert({ state: 'acknowledged' }) } },
    });
    renderWithClient(<AlertInbox />);
    await userEvent.click(
      await screen.findByRole('button', { name: 'Acknowledge Glucose low, patient p-1' }),
    );
    await screen.findByRole('button', { name: 'Acknowledge Glucose low, patient p-1' });
    const ack = calls.find((c) => c.method === 'POST');
    expect(ack?.path).toBe(`/api/v1/alerts/${ID_1}/ack`);
    expect(ack?.headers['x-csrf-token']).toBe('C'.repeat(43));
  });

  it('snoozes for the chosen number of minutes', async () => {
    const calls = fakeApi({
      'GET /api/v1/alerts': { body: { alerts: [alert({})] } },
      [`POST /api/v1/alerts/${ID_1}/snooze`]: { body: { alert: alert({}) } },
    });
    renderWithClient(<AlertInbox />);
    const user = userEvent.setup();
    await user.selectOptions(await screen.findByLabelText('Snooze for Glucose low, patient p-1'), '30');
    await user.click(screen.getByRole('button', { name: 'Snooze Glucose low, patient p-1' }));
    await screen.findByRole('button', { name: 'Snooze Glucose low, patient p-1' });
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ minutes: 30 });
  });

  it('names the alert and the patient on every control, so a list of them can be told apart', async () => {
    fakeApi({
      'GET /api/v1/alerts': {
        body: {
          alerts: [
            alert({}),
            alert({ id: ID_2, patient: 'p-2', title: 'Oxygen saturation low', urgency: 'urgent' }),
          ],
        },
      },
    });
    renderWithClient(<AlertInbox />);
    const item = await screen.findByRole('listitem', {
      name: 'urgent alert: Oxygen saturation low, patient p-2',
    });
    expect(
      within(item).getByRole('button', { name: 'Acknowledge Oxygen saturation low, patient p-2' }),
    ).toBeVisible();
    expect(
      within(item).getByRole('combobox', { name: 'Snooze for Oxygen saturation low, patient p-2' }),
    ).toBeVisible();
    expect(
      within(item).getByRole('button', { name: 'Snooze Oxygen saturation low, patient p-2' }),
    ).toBeVisible();
    expect(screen.getByRole('button', { name: 'Acknowledge Glucose low, patient p-1' })).toBeVisible();
  });

  it('keeps keyboard focus on the alert it acknowledged, not the start of the page', async () => {
    let state = 'open';
    fakeApi({
      'GET /api/v1/alerts': () => ({
        body: { alerts: [alert({ state, acknowledgedBy: state === 'open' ? null : 'user:dr.lee' })] },
      }),
      [`POST /api/v1/alerts/${ID_1}/ack`]: () => {
        state = 'acknowledged';
        return { body: { alert: alert({ state }) } };
      },
    });
    renderWithClient(<AlertInbox />);
    const user = userEvent.setup();
    const button = await screen.findByRole('button', { name: 'Acknowledge Glucose low, patient p-1' });
    button.focus();
    await user.keyboard('{Enter}');
    const item = screen.getByRole('listitem', { name: 'warning alert: Glucose low, patient p-1' });
    await waitFor(() => expect(item).toHaveTextContent('acknowledged by dr.lee'));
    await waitFor(() => expect(item).toHaveFocus());
  });

  it('says when there is nothing to do', async () => {
    fakeApi({ 'GET /api/v1/alerts': { body: { alerts: [] } } });
    renderWithClient(<AlertInbox />);
    expect(await screen.findByText('No open alerts.')).toBeInTheDocument();
  });

  it('says when the alerts API is not on this server yet', async () => {
    fakeApi({});
    renderWithClient(<AlertInbox />);
    expect(await screen.findByRole('alert')).toHaveTextContent('not available on this server yet');
  });
});
