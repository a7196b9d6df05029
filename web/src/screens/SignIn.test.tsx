import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { fakeApi, problem, renderWithClient } from '../test-support.tsx';
import { SignIn } from './SignIn.tsx';

const TICKET = 'T'.repeat(43);

async function enterPassword() {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText('Username'), 'dr.lee');
  await user.type(screen.getByLabelText('Password'), 'a long password');
  await user.click(screen.getByRole('button', { name: 'Continue' }));
  return user;
}

describe('sign-in', () => {
  it('asks for the authenticator code after the password and sends it with the ticket', async () => {
    const calls = fakeApi({
      'POST /api/v1/auth/login': {
        body: { mfaRequired: true, ticket: TICKET, expiresAt: '2026-11-22T10:05:00Z' },
      },
      'POST /api/v1/auth/mfa': {
        body: { stage: 'full', csrfToken: 'C'.repeat(43), expiresAt: '2026-11-22T18:00:00Z' },
      },
    });
    renderWithClient(<SignIn />);
    const user = await enterPassword();
    await user.type(await screen.findByLabelText('Code from your authenticator app'), '123 456');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(calls.map((c) => c.path)).toContain('/api/v1/auth/mfa'));
    expect(calls.find((c) => c.path === '/api/v1/auth/login')?.body).toEqual({
      username: 'dr.lee',
      password: 'a long password',
    });
    expect(calls.find((c) => c.path === '/api/v1/auth/mfa')?.body).toEqual({
      ticket: TICKET,
      code: '123456',
    });
  });

  it('sends anything but six digits as a recovery code', async () => {
    const calls = fakeApi({
      'POST /api/v1/auth/login': { body: { mfaRequired: true, ticket: TICKET, expiresAt: '' } },
      'POST /api/v1/auth/mfa': { body: { stage: 'full', csrfToken: 'C'.repeat(43), expiresAt: '' } },
    });
    renderWithClient(<SignIn />);
    const user = await enterPassword();
    await user.type(await screen.findByLabelText('Code from your authenticator app'), 'abcd-efgh-ijkl');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(calls.map((c) => c.path)).toContain('/api/v1/auth/mfa'));
    expect(calls.find((c) => c.path === '/api/v1/auth/mfa')?.body).toEqual({
      ticket: TICKET,
      recoveryCode: 'abcd-efgh-ijkl',
    });
  });

  it('says plainly when sign-in is locked after too many attempts', async () => {
    fakeApi({
      'POST /api/v1/auth/login': problem(
        429,
        'VIGIL_ERR_AUTH_THROTTLED',
        'too many failed attempts; try again in 60 s',
      ),
    });
    renderWithClient(<SignIn />);
    await enterPassword();
    expect(await screen.findByRole('alert')).toHaveTextContent(/locked for now.*try again in 60 s/);
  });

  it('starts over with the password when the ticket has expired', async () => {
    fakeApi({
      'POST /api/v1/auth/login': { body: { mfaRequired: true, ticket: TICKET, expiresAt: '' } },
      'POST /api/v1/auth/mfa': problem(
        401,
        'VIGIL_ERR_AUTH_LOGIN_FAILED',
        'the sign-in ticket is unknown or expired; sign in again',
      ),
    });
    renderWithClient(<SignIn />);
    const user = await enterPassword();
    await user.type(await screen.findByLabelText('Code from your authenticator app'), '123456');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(/expired/);
    expect(screen.getByLabelText('Username')).toBeInTheDocument();
  });

  it('says so when the server has no sign-in API', async () => {
    fakeApi({});
    renderWithClient(<SignIn />);
    await enterPassword();
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Sign-in is not available on this server yet.',
    );
  });
});
