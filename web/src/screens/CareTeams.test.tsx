import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { CareTeam } from '../api/admin-types.ts';
import { fakeApi, problem, renderWithClient } from '../test-support.tsx';
import { CareTeams } from './CareTeams.tsx';

const team = (o: Partial<CareTeam>): CareTeam => ({
  id: 'ward-3',
  name: 'Ward 3',
  members: ['dr.lee', 'nurse.kim'],
  patients: ['p-1'],
  ...o,
});

describe('care teams', () => {
  it('shows members in escalation order and linked patients, read-only without the right', async () => {
    fakeApi({ 'GET /api/v1/care-teams': { body: { careTeams: [team({})] } } });
    renderWithClient(<CareTeams canWrite={false} />);
    const members = await screen.findByRole('list', { name: 'Members of Ward 3' });
    expect(
      within(members)
        .getAllByRole('listitem')
        .map((li) => li.textContent),
    ).toEqual(['dr.lee', 'nurse.kim']);
    expect(screen.getByRole('list', { name: 'Patients of Ward 3' })).toHaveTextContent('p-1');
    expect(screen.queryByRole('button')).toBeNull();
  });

  it('creates a team with members in the order typed', async () => {
    const calls = fakeApi({
      'GET /api/v1/care-teams': () => ({
        body: { careTeams: calls.some((c) => c.method === 'POST') ? [team({})] : [] },
      }),
      'POST /api/v1/care-teams': { status: 201, body: team({}) },
    });
    renderWithClient(<CareTeams canWrite={true} />);
    const u = userEvent.setup();
    const form = await screen.findByRole('form', { name: 'Create a care team' });
    await u.type(within(form).getByLabelText('Team id'), 'ward-3');
    await u.type(within(form).getByLabelText('Name'), 'Ward 3');
    await u.type(within(form).getByLabelText(/^Members/), 'nurse.kim, dr.lee');
    await u.click(within(form).getByRole('button', { name: 'Create team' }));
    await screen.findByRole('list', { name: 'Members of Ward 3' });
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      id: 'ward-3',
      name: 'Ward 3',
      members: ['nurse.kim', 'dr.lee'],
    });
  });

  it('refuses a member list with a repeat before asking the server', async () => {
    const calls = fakeApi({ 'GET /api/v1/care-teams': { body: { careTeams: [team({})] } } });
    renderWithClient(<CareTeams canWrite={true} />);
    const u = userEvent.setup();
    const input = await screen.findByLabelText('Members', { selector: '#members-ward-3' });
    await u.clear(input);
    await u.type(input, 'dr.lee, dr.lee');
    await u.click(screen.getByRole('button', { name: 'Save members' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('dr.lee is listed twice');
    expect(calls.some((c) => c.method === 'PUT')).toBe(false);
  });

  const NO_SUCH_MEMBERS =
    'members must be users or API tokens that can answer an alert: no user or API token is named "dr.smtih", "nurse.kmi". Check the spelling, or add or enable the user first.';

  it('shows the server refusing unknown members beside the members field of a team', async () => {
    fakeApi({
      'GET /api/v1/care-teams': { body: { careTeams: [team({})] } },
      'PUT /api/v1/care-teams/ward-3/members': problem(400, 'VIGIL_ERR_REQUEST_INVALID', NO_SUCH_MEMBERS),
    });
    renderWithClient(<CareTeams canWrite={true} />);
    const u = userEvent.setup();
    const input = await screen.findByLabelText('Members', { selector: '#members-ward-3' });
    await u.clear(input);
    await u.type(input, 'dr.smtih, nurse.kmi');
    await u.click(screen.getByRole('button', { name: 'Save members' }));
    const error = await screen.findByRole('alert');
    expect(error).toHaveTextContent('no user or API token is named "dr.smtih", "nurse.kmi"');
    expect(input).toHaveAttribute('aria-invalid', 'true');
    expect(input).toHaveAccessibleDescription(NO_SUCH_MEMBERS);
    expect(screen.getByRole('form', { name: 'Set members of Ward 3' })).toContainElement(error);
  });

  it('shows the server refusing the members of a new team beside that field, not as a form error', async () => {
    fakeApi({
      'GET /api/v1/care-teams': { body: { careTeams: [] } },
      'POST /api/v1/care-teams': problem(400, 'VIGIL_ERR_REQUEST_INVALID', NO_SUCH_MEMBERS),
    });
    renderWithClient(<CareTeams canWrite={true} />);
    const u = userEvent.setup();
    const form = await screen.findByRole('form', { name: 'Create a care team' });
    await u.type(within(form).getByLabelText('Team id'), 'ward-7');
    await u.type(within(form).getByLabelText('Name'), 'Ward 7');
    const members = within(form).getByLabelText(/^Members/);
    await u.type(members, 'dr.smtih, nurse.kmi');
    await u.click(within(form).getByRole('button', { name: 'Create team' }));
    expect(await within(form).findByRole('alert')).toHaveTextContent('"dr.smtih", "nurse.kmi"');
    expect(within(form).getAllByRole('alert')).toHaveLength(1);
    expect(members).toHaveAttribute('aria-invalid', 'true');
    expect(members).toHaveAccessibleDescription(NO_SUCH_MEMBERS);
  });

  it('links and, after confirmation, unlinks a patient', async () => {
    const calls = fakeApi({
      'GET /api/v1/care-teams': { body: { careTeams: [team({})] } },
      'PUT /api/v1/care-teams/ward-3/patients/p-2': { body: team({ patients: ['p-1', 'p-2'] }) },
      'DELETE /api/v1/care-teams/ward-3/patients/p-1': { body: team({ patients: [] }) },
    });
    renderWithClient(<CareTeams canWrite={true} />);
    const u = userEvent.setup();
    await u.type(await screen.findByLabelText('Patient id'), 'p-2');
    await u.click(screen.getByRole('button', { name: 'Link patient' }));
    await u.click(screen.getByRole('button', { name: 'Unlink p-1 from Ward 3' }));
    await u.click(screen.getByRole('button', { name: 'Confirm unlink p-1 from Ward 3' }));
    expect(calls.filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.path}`)).toEqual([
      'PUT /api/v1/care-teams/ward-3/patients/p-2',
      'DELETE /api/v1/care-teams/ward-3/patients/p-1',
    ]);
  });
});
