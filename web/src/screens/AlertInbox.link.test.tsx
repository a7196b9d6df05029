import { screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setCsrfToken } from '../api/client.ts';
import { alertFixture, fakeApi, problem, renderWithClient } from '../test-support.tsx';
import { AlertInbox } from './AlertInbox.tsx';

const ID_1 = '11111111-1111-4111-8111-111111111111';
const ID_2 = '22222222-2222-4222-8222-222222222222';
const ID_GONE = '33333333-3333-4333-8333-333333333333';
const alert = alertFixture;
const OPEN = [alert({}), alert({ id: ID_2, title: 'Oxygen saturation low', urgency: 'urgent', value: 86 })];

/** As an e-mail or webhook link opens the dashboard: /alerts?alert=<id>. */
const openLink = (id: string) => window.history.replaceState(null, '', `/alerts?alert=${id}`);

describe('alert inbox opened from an alert link', () => {
  beforeEach(() => setCsrfToken('C'.repeat(43)));
  afterEach(() => window.history.replaceState(null, '', '/'));

  it('marks the linked alert as current and moves focus to it', async () => {
    openLink(ID_1);
    fakeApi({ 'GET /api/v1/alerts': { body: { alerts: OPEN } } });
    renderWithClient(<AlertInbox />);
    const item = await screen.findByRole('listitem', { name: 'warning alert: Glucose low, patient p-1' });
    expect(item).toHaveAttribute('aria-current', 'true');
    await waitFor(() => expect(item).toHaveFocus());
    expect(within(item).getByText('The alert from your link')).toBeInTheDocument();
    const other = screen.getByRole('listitem', { name: 'urgent alert: Oxygen saturation low, patient p-1' });
    expect(other).not.toHaveAttribute('aria-current');
  });

  it('fetches the alert by id when it is not among the open ones, under its own heading', async () => {
    openLink(ID_GONE);
    const calls = fakeApi({
      'GET /api/v1/alerts': { body: { alerts: OPEN } },
      [`GET /api/v1/alerts/${ID_GONE}`]: {
        body: { alert: alert({ id: ID_GONE, title: 'Fever', state: 'resolved' }), history: [] },
      },
    });
    renderWithClient(<AlertInbox />);
    const section = (await screen.findByRole('heading', { name: 'Alert from your link' })).parentElement;
    const item = await within(section as HTMLElement).findByRole('listitem', {
      name: 'warning alert: Fever, patient p-1',
    });
    expect(item).toHaveAttribute('aria-current', 'true');
    await waitFor(() => expect(item).toHaveFocus());
    expect(item).toHaveTextContent('resolved');
    expect(calls.filter((c) => c.path === `/api/v1/alerts/${ID_GONE}`)).toHaveLength(1);
  });

  it('says so when the linked alert cannot be read, and still lists the open alerts', async () => {
    openLink(ID_GONE);
    fakeApi({
      'GET /api/v1/alerts': { body: { alerts: OPEN } },
      [`GET /api/v1/alerts/${ID_GONE}`]: problem(404, 'VIGIL_ERR_NOT_FOUND', `no alert ${ID_GONE}`),
    });
    renderWithClient(<AlertInbox />);
    expect(await screen.findByRole('alert')).toHaveTextContent(
      `Could not load the alert from your link: no alert ${ID_GONE}`,
    );
    expect(screen.getAllByRole('listitem')).toHaveLength(2);
  });

  it('ignores a link whose id is not an alert id, and asks the server nothing about it', async () => {
    window.history.replaceState(null, '', '/alerts?alert=..%2Fadmin');
    const calls = fakeApi({ 'GET /api/v1/alerts': { body: { alerts: OPEN } } });
    renderWithClient(<AlertInbox />);
    await screen.findAllByRole('listitem');
    expect(screen.queryByRole('heading', { name: 'Alert from your link' })).not.toBeInTheDocument();
    expect(calls.map((c) => c.path)).toEqual(['/api/v1/alerts']);
  });
});
