import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeApi, problem, renderWithClient } from '../test-support.tsx';
import { SignIn } from './SignIn.tsx';

/**
 * The browser's WebAuthn, faked at the module boundary (jsdom has no authenticator): the real
 * ceremony runs in Chromium with a virtual authenticator in test/dashboard-passkey-e2e.test.ts.
 */
const webauthn = vi.hoisted(() => ({
  browserSupportsWebAuthn: vi.fn(() => true),
  startAuthentication: vi.fn(),
  startRegistration: vi.fn(),
}));
vi.mock('@simplewebauthn/browser', () => webauthn);

const TICKET = 'T'.repeat(43);
const OPTIONS = { challenge: 'c'.repeat(43), rpId: 'localhost', allowCredentials: [] };
const ASSERTION = {
  id: 'cred-1',
  rawId: 'cred-1',
  type: 'public-key',
  response: {},
  clientExtensionResults: {},
};
const login = { body: { mfaRequired: true, ticket: TICKET, expiresAt: '2026-11-22T10:05:00Z' } };
const session = { body: { stage: 'full', csrfToken: 'C'.repeat(43), expiresAt: '2026-11-22T18:00:00Z' } };

async function toSecondStep() {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText('Username'), 'dr.lee');
  await user.type(screen.getByLabelText('Password'), 'a long password');
  await user.click(screen.getByRole('button', { name: 'Continue' }));
  await screen.findByLabelText('Code from your authenticator app');
  return user;
}

/** A DOMException as browsers throw it when the person closes the passkey prompt. */
const cancelled = () =>
  Object.assign(new Error('The operation either timed out or was not allowed.'), {
    name: 'WebAuthnError',
    code: 'ERROR_PASSTHROUGH_SEE_CAUSE_PROPERTY',
    cause: new DOMException('not allowed', 'NotAllowedError'),
  });

describe('sign-in with a passkey', () => {
  beforeEach(() => {
    webauthn.browserSupportsWebAuthn.mockReturnValue(true);
    webauthn.startAuthentication.mockReset();
  });

  it('answers the ticket with a passkey assertion and sends it to the server', async () => {
    const calls = fakeApi({
      'POST /api/v1/auth/login': login,
      'POST /api/v1/auth/webauthn/options': { body: OPTIONS },
      'POST /api/v1/auth/webauthn': session,
    });
    webauthn.startAuthentication.mockResolvedValue(ASSERTION);
    renderWithClient(<SignIn />);
    const user = await toSecondStep();
    await user.click(screen.getByRole('button', { name: 'Use a passkey' }));
    await waitFor(() => expect(calls.map((c) => c.path)).toContain('/api/v1/auth/webauthn'));
    expect(calls.find((c) => c.path === '/api/v1/auth/webauthn/options')?.body).toEqual({ ticket: TICKET });
    expect(webauthn.startAuthentication).toHaveBeenCalledWith({ optionsJSON: OPTIONS });
    expect(calls.find((c) => c.path === '/api/v1/auth/webauthn')?.body).toEqual({
      ticket: TICKET,
      credential: ASSERTION,
    });
  });

  it('says it is waiting while the authenticator prompt is open, and blocks a second try', async () => {
    fakeApi({ 'POST /api/v1/auth/login': login, 'POST /api/v1/auth/webauthn/options': { body: OPTIONS } });
    webauthn.startAuthentication.mockReturnValue(new Promise(() => undefined));
    renderWithClient(<SignIn />);
    const user = await toSecondStep();
    await user.click(screen.getByRole('button', { name: 'Use a passkey' }));
    const waiting = await screen.findByRole('button', { name: 'Waiting for your passkey…' });
    expect(waiting).toBeDisabled();
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeDisabled();
  });

  it('says the request was cancelled when the person closes the prompt, and keeps the code step', async () => {
    fakeApi({ 'POST /api/v1/auth/login': login, 'POST /api/v1/auth/webauthn/options': { body: OPTIONS } });
    webauthn.startAuthentication.mockRejectedValue(cancelled());
    renderWithClient(<SignIn />);
    const user = await toSecondStep();
    await user.click(screen.getByRole('button', { name: 'Use a passkey' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(/cancelled or timed out/);
    expect(screen.getByRole('button', { name: 'Use a passkey' })).toBeEnabled();
    expect(screen.getByLabelText('Code from your authenticator app')).toBeInTheDocument();
  });

  it('says the passkey is not registered when the server refuses the assertion', async () => {
    fakeApi({
      'POST /api/v1/auth/login': login,
      'POST /api/v1/auth/webauthn/options': { body: OPTIONS },
      'POST /api/v1/auth/webauthn': problem(
        401,
        'VIGIL_ERR_AUTH_LOGIN_FAILED',
        'the code is wrong or was already used',
      ),
    });
    webauthn.startAuthentication.mockResolvedValue(ASSERTION);
    renderWithClient(<SignIn />);
    const user = await toSecondStep();
    await user.click(screen.getByRole('button', { name: 'Use a passkey' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(/not registered to your account/);
  });

  it('says sign-in is locked when the account is throttled', async () => {
    fakeApi({
      'POST /api/v1/auth/login': login,
      'POST /api/v1/auth/webauthn/options': { body: OPTIONS },
      'POST /api/v1/auth/webauthn': problem(
        429,
        'VIGIL_ERR_AUTH_THROTTLED',
        'too many failed attempts; try again in 30 s',
      ),
    });
    webauthn.startAuthentication.mockResolvedValue(ASSERTION);
    renderWithClient(<SignIn />);
    const user = await toSecondStep();
    await user.click(screen.getByRole('button', { name: 'Use a passkey' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(/locked for now.*try again in 30 s/);
  });

  it('goes back to the password when the ticket has expired', async () => {
    fakeApi({
      'POST /api/v1/auth/login': login,
      'POST /api/v1/auth/webauthn/options': problem(
        401,
        'VIGIL_ERR_AUTH_LOGIN_FAILED',
        'the sign-in ticket is unknown or expired; sign in again',
      ),
    });
    renderWithClient(<SignIn />);
    const user = await toSecondStep();
    await user.click(screen.getByRole('button', { name: 'Use a passkey' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(/expired/);
    expect(screen.getByLabelText('Username')).toBeInTheDocument();
    expect(webauthn.startAuthentication).not.toHaveBeenCalled();
  });

  it('offers no passkey button in a browser without WebAuthn', async () => {
    webauthn.browserSupportsWebAuthn.mockReturnValue(false);
    fakeApi({ 'POST /api/v1/auth/login': login });
    renderWithClient(<SignIn />);
    await toSecondStep();
    expect(screen.queryByRole('button', { name: 'Use a passkey' })).not.toBeInTheDocument();
  });
});
