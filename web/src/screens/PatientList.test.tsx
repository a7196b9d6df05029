import { act, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PatientSummary } from '../api/types.ts';
import { clock } from '../lib/time.ts';
import { alertFixture, fakeApi, renderWithClient } from '../test-support.tsx';
import { PatientList } from './PatientList.tsx';

const HEART_RATE = '8867-4';
/** A grant made late in the day ends tomorrow, and the marker then writes the date first. */
const ANOTHER_DAY = '(\\d{4}-\\d\\d-\\d\\d )?';
const reading = (secondsAgo: number, value = 72) => ({
  code: HEART_RATE,
  value,
  unit: '/min',
  effective: new Date(Date.now() - secondsAgo * 1000).toISOString(),
  device: 'ox-1',
});

/** Patients by id; each one's latest readings; the ward's alerts. */
function ward(
  patients: PatientSummary[],
  latest: Record<string, ReturnType<typeof reading>[]>,
  alerts = [alertFixture({})].slice(0, 0),
) {
  const routes: Parameters<typeof fakeApi>[0] = {
    'GET /api/v1/patients': { body: { patients } },
    'GET /api/v1/alerts': { body: { alerts } },
  };
  for (const p of patients) {
    routes[`GET /api/v1/patients/${p.id}/observations/latest`] = { body: { latest: latest[p.id] ?? [] } };
    routes[`GET /api/v1/patients/${p.id}/observations`] = { body: { series: [] } };
  }
  fakeApi(routes);
}

const rowOf = (name: string) => screen.getByRole('row', { name: new RegExp(`^${name}`) });

describe('patient list', () => {
  afterEach(() => vi.useRealTimers());

  it('says "No data yet", not "No open alerts", for a patient who never sent a reading', async () => {
    ward([{ id: 'p-new' }, { id: 'p-ok' }], { 'p-ok': [reading(5)] });
    renderWithClient(<PatientList />);
    expect(
      await within(await screen.findByRole('row', { name: /^p-new/ })).findByText('No data yet'),
    ).toBeInTheDocument();
    expect(await within(rowOf('p-ok')).findByText('No open alerts')).toBeInTheDocument();
    expect(within(rowOf('p-new')).queryByText('No open alerts')).toBeNull();
  });

  it('puts patients with urgent alerts first, then other open alerts, then the rest by id', async () => {
    ward([{ id: 'p-a' }, { id: 'p-b' }, { id: 'p-c' }, { id: 'p-d' }], {}, [
      alertFixture({ id: '1', patient: 'p-d', urgency: 'warning' }),
      alertFixture({ id: '2', patient: 'p-c', urgency: 'urgent' }),
      alertFixture({ id: '3', patient: 'p-a', urgency: 'urgent', state: 'resolved' }),
    ]);
    renderWithClient(<PatientList />);
    await screen.findByText('1 urgent alert');
    const ids = screen
      .getAllByRole('row')
      .slice(1)
      .map((r) => within(r).getByRole('link').textContent);
    expect(ids).toEqual(['p-c', 'p-d', 'p-a', 'p-b']);
  });

  it('follows the pages of a long list to its end', async () => {
    const calls = fakeApi({
      'GET /api/v1/patients': (call) => {
        const after = new URLSearchParams(call.query).get('after');
        if (after === null) return { body: { patients: [{ id: 'p-1' }], next: 'p-1' } };
        if (after === 'p-1') return { body: { patients: [{ id: 'p-2' }], next: 'p-2' } };
        return { body: { patients: [{ id: 'p-3' }], next: null } };
      },
      'GET /api/v1/alerts': { body: { alerts: [] } },
      'GET /api/v1/patients/p-1/observations/latest': { body: { latest: [] } },
      'GET /api/v1/patients/p-2/observations/latest': { body: { latest: [] } },
      'GET /api/v1/patients/p-3/observations/latest': { body: { latest: [] } },
    });
    renderWithClient(<PatientList />);
    for (const id of ['p-1', 'p-2', 'p-3'])
      expect(await screen.findByRole('link', { name: id })).toBeInTheDocument();
    const pages = calls.filter((c) => c.path === '/api/v1/patients' && !c.query.includes('include'));
    expect(pages.map((c) => new URLSearchParams(c.query).get('after'))).toEqual([null, 'p-1', 'p-2']);
  });

  it('shows the name with the id beside it when the server knows it, else the id', async () => {
    ward([{ id: 'p-1', name: 'Ada Lovelace' }, { id: 'p-2' }], {});
    renderWithClient(<PatientList />);
    const link = await screen.findByRole('link', { name: 'Ada Lovelace' });
    expect(link.closest('th')).toHaveTextContent('Ada Lovelace' + 'p-1');
    expect(screen.getByRole('link', { name: 'p-2' })).toBeInTheDocument();
  });

  it('lets "Last reading" age on its own while nothing new arrives, and marks an old reading', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    ward([{ id: 'p-1' }], { 'p-1': [reading(0)] });
    renderWithClient(<PatientList />);
    const row = await screen.findByRole('row', { name: /^p-1/ });
    expect(await within(row).findByText('0 s ago')).toBeInTheDocument();
    await act(async () => {
      vi.advanceTimersByTime(50_000);
    });
    expect(within(row).getByText('50 s ago')).toHaveAttribute(
      'title',
      expect.stringMatching(/UTC[+-]\d\d:\d\d$/),
    );
    expect(within(row).queryByText('old')).toBeNull();
    await act(async () => {
      vi.advanceTimersByTime(5 * 60_000);
    });
    expect(within(row).getByText('6 min ago')).toBeInTheDocument();
    expect(within(row).getByText('old')).toBeInTheDocument();
  });

  it('shows names where the server discloses them, asking for them once, not at every poll', async () => {
    ward([{ id: 'p-1' }, { id: 'p-2' }], {});
    const identityAsks: string[] = [];
    const calls = fakeApi({
      'GET /api/v1/patients': (call) => {
        if (!call.query.includes('include=identity'))
          return { body: { patients: [{ id: 'p-1' }, { id: 'p-2' }] } };
        identityAsks.push(call.query);
        // p-2's consent keeps their name from this caller: listed by pseudonym.
        return {
          body: { patients: [{ id: 'p-1', name: 'Ada Okafor', birthDate: '1950-03-02' }, { id: 'p-2' }] },
        };
      },
      'GET /api/v1/alerts': { body: { alerts: [] } },
      'GET /api/v1/patients/p-1/observations/latest': { body: { latest: [] } },
      'GET /api/v1/patients/p-2/observations/latest': { body: { latest: [] } },
    });
    const { client } = renderWithClient(<PatientList />);
    expect(await screen.findByRole('link', { name: 'Ada Okafor' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'p-2' })).toBeInTheDocument();
    await act(() => client.refetchQueries({ queryKey: ['patients'], exact: true }));
    await act(() => client.refetchQueries({ queryKey: ['patients'], exact: true }));
    expect(
      calls.filter((c) => c.path === '/api/v1/patients' && !c.query.includes('include')).length,
    ).toBeGreaterThanOrEqual(3);
    expect(identityAsks).toHaveLength(1);
    expect(screen.getByRole('link', { name: 'Ada Okafor' })).toBeInTheDocument();
  });

  it('marks a patient seen through break-glass with the end of that access, and no care-team patient', async () => {
    const expires = new Date(Date.now() + 42 * 60_000).toISOString();
    ward(
      [
        { id: 'p-team', access: 'care-team' },
        { id: 'p-glass', access: 'break-glass', accessExpires: expires },
      ],
      {},
    );
    renderWithClient(<PatientList />);
    const row = await screen.findByRole('row', { name: /^p-glass/ });
    const marker = within(row).getByTitle(/^Break-glass access, audited; ends .* UTC[+-]\d\d:\d\d$/);
    expect(marker).toHaveClass('access-emergency');
    expect(marker).toHaveTextContent(
      new RegExp(`^⚠Emergency access · ends ${ANOTHER_DAY}${clock(expires, { seconds: false })}$`),
    );
    // The row's name, as a screen reader gives it, says so too.
    expect(row).toHaveAccessibleName(
      new RegExp(`^p-glass Emergency access · ends ${ANOTHER_DAY}\\d\\d:\\d\\d`),
    );
    expect(within(rowOf('p-team')).queryByText(/Emergency access/)).toBeNull();
  });

  it('keeps the marker of the latest poll when names come from the slower identity query', async () => {
    const expires = new Date(Date.now() + 30 * 60_000).toISOString();
    fakeApi({
      'GET /api/v1/patients': (call) =>
        call.query.includes('include=identity')
          ? { body: { patients: [{ id: 'p-1', name: 'Ada Okafor', access: 'care-team' }] } }
          : { body: { patients: [{ id: 'p-1', access: 'break-glass', accessExpires: expires }] } },
      'GET /api/v1/alerts': { body: { alerts: [] } },
      'GET /api/v1/patients/p-1/observations/latest': { body: { latest: [] } },
    });
    renderWithClient(<PatientList />);
    const row = await screen.findByRole('row', { name: /^Ada Okafor/ });
    expect(within(row).getByTitle(/^Break-glass access/)).toHaveTextContent(
      new RegExp(`^⚠Emergency access · ends ${ANOTHER_DAY}\\d\\d:\\d\\d$`),
    );
  });
});
