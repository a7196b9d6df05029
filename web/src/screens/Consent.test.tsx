import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { ConsentRecord } from '../api/admin-types.ts';
import { fakeApi, renderWithClient } from '../test-support.tsx';
import { Consent } from './Consent.tsx';

const record = (o: Partial<ConsentRecord>): ConsentRecord => ({
  id: 'consent-00000000-0000-4000-8000-000000000001',
  decision: 'permit',
  purposes: ['treatment'],
  categories: ['vital-signs', 'alerts'],
  start: '2026-11-01T10:00:00.000Z',
  end: null,
  status: 'active',
  recorded: '2026-11-01T10:00:00.000Z',
  ...o,
});
const PATH = '/api/v1/patients/p-1/consents';

describe('consent', () => {
  it('loads nothing until a patient is asked for (each read is audited)', async () => {
    const calls = fakeApi({});
    renderWithClient(<Consent canWrite={false} />);
    await screen.findByRole('button', { name: 'Show consent' });
    expect(calls).toHaveLength(0);
  });

  it('lists a patient\u2019s records with decision, purposes, data and status in words', async () => {
    fakeApi({
      [`GET ${PATH}`]: {
        body: {
          consents: [
            record({}),
            record({ id: 'consent-2', decision: 'deny', purposes: ['research'], status: 'revoked' }),
          ],
        },
      },
    });
    renderWithClient(<Consent canWrite={false} />);
    const u = userEvent.setup();
    await u.type(screen.getByLabelText('Patient id'), 'p-1');
    await u.click(screen.getByRole('button', { name: 'Show consent' }));
    const permit = await screen.findByRole('row', { name: /^Permit/ });
    expect(permit).toHaveTextContent('vital-signs, alerts');
    expect(within(permit).getByText('Active')).toBeInTheDocument();
    expect(within(screen.getByRole('row', { name: /^Deny/ })).getByText('Revoked')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Revoke/ })).toBeNull();
  });

  it('refuses a patient id outside the id alphabet without asking the server', async () => {
    const calls = fakeApi({});
    renderWithClient(<Consent canWrite={true} />);
    const u = userEvent.setup();
    await u.type(screen.getByLabelText('Patient id'), '../x');
    await u.click(screen.getByRole('button', { name: 'Show consent' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('The patient id must be');
    expect(calls).toHaveLength(0);
  });

  it('records a decision for the chosen purposes and data, and revokes one', async () => {
    const calls = fakeApi({
      [`GET ${PATH}`]: { body: { consents: [record({})] } },
      [`POST ${PATH}`]: { status: 201, body: { id: 'consent-3' } },
      [`POST ${PATH}/consent-00000000-0000-4000-8000-000000000001/revoke`]: { body: { status: 'revoked' } },
    });
    renderWithClient(<Consent canWrite={true} />);
    const u = userEvent.setup();
    await u.type(screen.getByLabelText('Patient id'), 'p-1');
    await u.click(screen.getByRole('button', { name: 'Show consent' }));
    const form = await screen.findByRole('form', { name: 'Record a consent decision' });
    await u.click(within(form).getByRole('button', { name: 'Record consent' }));
    expect(await within(form).findByRole('alert')).toHaveTextContent('Choose at least one purpose.');
    await u.click(within(form).getByLabelText('Deny'));
    await u.click(within(form).getByLabelText('research'));
    await u.click(within(form).getByLabelText('vital-signs'));
    await u.click(within(form).getByRole('button', { name: 'Record consent' }));
    await u.click(screen.getByRole('button', { name: /^Revoke consent-/ }));
    await u.click(screen.getByRole('button', { name: /^Confirm revoke/ }));
    const changes = calls.filter((c) => c.method === 'POST');
    expect(changes[0]?.body).toEqual({
      decision: 'deny',
      purposes: ['research'],
      categories: ['vital-signs'],
    });
    expect(changes[1]?.path).toMatch(/\/revoke$/);
  });
});
