import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { UserView } from '../api/admin-types.ts';
import { fakeApi, problem, renderWithClient } from '../test-support.tsx';
import { Users } from './Users.tsx';

const user = (o: Partial<UserView>): UserView => ({
  id: 'usr-0000000000000001',
  username: 'dr.lee',
  role: 'clinician',
  mustChangePassword: false,
  totpEnrolled: true,
  disabled: false,
  createdAt: '2026-11-01T10:00:00.000Z',
  passwordChangedAt: '2026-11-01T10:00:00.000Z',
  ...o,
});
const ME = 'usr-00000000000000aa';

describe('users and roles', () => {
  it('lists users with role, second factor and account state in words', async () => {
    fakeApi({
      'GET /api/v1/users': {
        body: {
          users: [
            user({}),
            user({ id: 'usr-0000000000000002', username: 'old.nurse', disabled: true, totpEnrolled: false }),
          ],
        },
      },
    });
    renderWithClient(<Users meId={ME} canWrite={false} />);
    const row = await screen.findByRole('row', { name: /^dr\.lee/ });
    expect(within(row).getByText('clinician')).toBeInTheDocument();
    expect(within(row).getByText('Authenticator set up')).toBeInTheDocument();
    const disabled = screen.getByRole('row', { name: /^old\.nurse/ });
    expect(within(disabled).getByText('Disabled')).toBeInTheDocument();
    expect(within(disabled).getByText('Not set up')).toBeInTheDocument();
    expect(screen.queryByRole('form', { name: 'Add a user' })).toBeNull();
    expect(screen.queryByRole('button', { name: /Reset/ })).toBeNull();
  });

  it('creates a user and shows the one-time password once, with a copy button and a warning', async () => {
    const calls = fakeApi({
      'GET /api/v1/users': { body: { users: [] } },
      'POST /api/v1/users': {
        status: 201,
        body: { user: user({ username: 'nurse.kim' }), oneTimePassword: 'otp-correct-horse-42' },
      },
    });
    renderWithClient(<Users meId={ME} canWrite={true} />);
    const user1 = userEvent.setup();
    await user1.type(await screen.findByLabelText('Username'), 'nurse.kim');
    await user1.selectOptions(screen.getByLabelText('Role'), 'auditor');
    await user1.type(screen.getByLabelText(/^E-mail/), 'kim@example.org');
    await user1.click(screen.getByRole('button', { name: 'Add user' }));
    const secret = await screen.findByRole('region', { name: 'One-time password' });
    expect(within(secret).getByTestId('one-time-secret')).toHaveTextContent('otp-correct-horse-42');
    expect(secret).toHaveTextContent('You will not see this again.');
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      username: 'nurse.kim',
      role: 'auditor',
      email: 'kim@example.org',
    });
    await user1.click(within(secret).getByRole('button', { name: 'Copy one-time password' }));
    expect(await navigator.clipboard.readText()).toBe('otp-correct-horse-42');
    await user1.click(within(secret).getByRole('button', { name: 'Done, hide it' }));
    expect(screen.queryByText('otp-correct-horse-42')).toBeNull();
  });

  it('changes a role, and disables only after confirmation', async () => {
    const calls = fakeApi({
      'GET /api/v1/users': { body: { users: [user({})] } },
      'PATCH /api/v1/users/usr-0000000000000001': { body: user({}) },
    });
    renderWithClient(<Users meId={ME} canWrite={true} />);
    const u = userEvent.setup();
    await u.selectOptions(await screen.findByLabelText('Role of dr.lee'), 'security');
    await u.click(screen.getByRole('button', { name: 'Save role of dr.lee' }));
    await u.click(screen.getByRole('button', { name: 'Disable dr.lee' }));
    expect(calls.filter((c) => c.method === 'PATCH')).toHaveLength(1);
    await u.click(screen.getByRole('button', { name: 'Confirm disable dr.lee' }));
    const patches = calls.filter((c) => c.method === 'PATCH').map((c) => c.body);
    expect(patches).toEqual([{ role: 'security' }, { disabled: true }]);
  });

  it('resets MFA and shows the new one-time password; says why when refused', async () => {
    fakeApi({
      'GET /api/v1/users': { body: { users: [user({})] } },
      'POST /api/v1/users/usr-0000000000000001/reset-mfa': { body: { oneTimePassword: 'otp-new-9' } },
      'POST /api/v1/users/usr-0000000000000001/reset-password': problem(
        403,
        'VIGIL_ERR_AUTH_FORBIDDEN',
        'not allowed',
      ),
    });
    renderWithClient(<Users meId={ME} canWrite={true} />);
    const u = userEvent.setup();
    await u.click(await screen.findByRole('button', { name: 'Reset MFA dr.lee' }));
    await u.click(screen.getByRole('button', { name: 'Confirm MFA reset dr.lee' }));
    expect(await screen.findByTestId('one-time-secret')).toHaveTextContent('otp-new-9');
    await u.click(screen.getByRole('button', { name: 'Reset password dr.lee' }));
    await u.click(screen.getByRole('button', { name: 'Confirm password reset dr.lee' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('not allowed');
  });

  it('offers no changes to your own account', async () => {
    fakeApi({ 'GET /api/v1/users': { body: { users: [user({ id: ME, username: 'admin' })] } } });
    renderWithClient(<Users meId={ME} canWrite={true} />);
    const row = await screen.findByRole('row', { name: /^admin/ });
    expect(within(row).queryByRole('button')).toBeNull();
    expect(row).toHaveTextContent('Another administrator changes your account.');
  });
});
