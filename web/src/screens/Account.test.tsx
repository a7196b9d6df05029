import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { api, CSRF_HEADER, setCsrfToken } from '../api/client.ts';
import type { Me } from '../api/types.ts';
import { type FakeCall, fakeApi, problem, renderWithClient } from '../test-support.tsx';
import { Account } from './Account.tsx';

/** The browser's WebAuthn, faked at the module boundary; Chromium runs the real one in the e2e test. */
const webauthn = vi.hoisted(() => ({
  browserSupportsWebAuthn: vi.fn(() => true),
  startAuthentication: vi.fn(),
  startRegistration: vi.fn(),
}));
vi.mock('@simplewebauthn/browser', () => webauthn);

const CSRF = 'C'.repeat(43);
const PASSKEY_ID = 'AbC-123_xyz';
const me = (o: Partial<Me> = {}): Me => ({
  id: 'u-1',
  username: 'dr.lee',
  role: 'clinician',
  stage: 'full',
  mustChangePassword: false,
  totpEnrolled: true,
  recoveryCodesLeft: 7,
  csrfToken: CSRF,
  ...o,
});
const passkey = {
  id: PASSKEY_ID,
  name: 'Ward laptop',
  createdAt: new Date().toISOString(),
  lastUsedAt: null,
};
const CREATION = { challenge: 'c'.repeat(43), rp: { id: 'localhost', name: 'Vigil' } };
const ATTESTATION = { id: 'new-cred', rawId: 'new-cred', type: 'public-key', response: {} };
const bodyOf = (calls: FakeCall[], method: string, path: string) =>
  calls.find((c) => c.method === method && c.path === path)?.body;

describe('account screen', () => {
  beforeEach(() => {
    setCsrfToken(CSRF);
    webauthn.startRegistration.mockReset();
  });

  it("lists the user's passkeys and removes one after the password and a confirmation, with the CSRF token", async () => {
    let list = [passkey];
    const calls = fakeApi({
      'GET /api/v1/auth/passkeys': () => ({ body: { passkeys: list } }),
      [`DELETE /api/v1/auth/passkeys/${PASSKEY_ID}`]: () => {
        list = [];
        return { status: 204 };
      },
    });
    renderWithClient(<Account me={me()} />);
    const item = await screen.findByRole('listitem', { name: 'Ward laptop' });
    expect(item).toHaveTextContent('not used yet');
    const user = userEvent.setup();
    expect(within(item).getByRole('button', { name: /Remove/ })).toBeDisabled();
    await user.type(
      screen.getByLabelText('Your current password, to remove a passkey'),
      'quiet harbour lantern',
    );
    await user.click(within(item).getByRole('button', { name: /Remove/ }));
    await user.click(within(item).getByRole('button', { name: /Confirm removal/ }));
    expect(await screen.findByRole('status')).toHaveTextContent('Passkey “Ward laptop” removed.');
    expect(await screen.findByText('You have no passkeys yet.')).toBeInTheDocument();
    const removal = calls.find((c) => c.method === 'DELETE');
    expect(removal?.headers[CSRF_HEADER]).toBe(CSRF);
    expect(removal?.body).toEqual({ currentPassword: 'quiet harbour lantern' });
  });

  it('registers a named passkey: password, then the authenticator, then the attestation to the server', async () => {
    let list: (typeof passkey)[] = [];
    const calls = fakeApi({
      'GET /api/v1/auth/passkeys': () => ({ body: { passkeys: list } }),
      'POST /api/v1/auth/passkeys/options': { body: CREATION },
      'POST /api/v1/auth/passkeys': () => {
        list = [{ ...passkey, name: 'YubiKey 5' }];
        return { status: 201, body: { id: 'new-cred', name: 'YubiKey 5', stage: 'full' } };
      },
    });
    webauthn.startRegistration.mockResolvedValue(ATTESTATION);
    renderWithClient(<Account me={me()} />);
    await screen.findByText('You have no passkeys yet.');
    const user = userEvent.setup();
    const form = screen.getByRole('form', { name: 'Add a passkey' });
    await user.type(within(form).getByLabelText('Name for this passkey'), 'YubiKey 5');
    await user.type(within(form).getByLabelText('Your current password'), 'quiet harbour lantern');
    await user.click(within(form).getByRole('button', { name: 'Add passkey' }));
    expect(await screen.findByRole('status')).toHaveTextContent('Passkey “YubiKey 5” added');
    expect(await screen.findByRole('listitem', { name: 'YubiKey 5' })).toBeInTheDocument();
    expect(bodyOf(calls, 'POST', '/api/v1/auth/passkeys/options')).toEqual({
      currentPassword: 'quiet harbour lantern',
    });
    expect(webauthn.startRegistration).toHaveBeenCalledWith({ optionsJSON: CREATION });
    expect(bodyOf(calls, 'POST', '/api/v1/auth/passkeys')).toEqual({
      name: 'YubiKey 5',
      credential: ATTESTATION,
    });
    expect(within(form).getByLabelText('Your current password')).toHaveValue('');
  });

  it('says so when the person cancels the authenticator prompt, and registers nothing', async () => {
    const calls = fakeApi({
      'GET /api/v1/auth/passkeys': { body: { passkeys: [] } },
      'POST /api/v1/auth/passkeys/options': { body: CREATION },
    });
    webauthn.startRegistration.mockRejectedValue(new DOMException('closed', 'NotAllowedError'));
    renderWithClient(<Account me={me()} />);
    const user = userEvent.setup();
    const form = screen.getByRole('form', { name: 'Add a passkey' });
    await user.type(within(form).getByLabelText('Name for this passkey'), 'Phone');
    await user.type(within(form).getByLabelText('Your current password'), 'pw');
    await user.click(within(form).getByRole('button', { name: 'Add passkey' }));
    expect(await within(form).findByRole('alert')).toHaveTextContent(/cancelled or timed out/);
    expect(calls.some((c) => c.method === 'POST' && c.path === '/api/v1/auth/passkeys')).toBe(false);
  });

  it('shows new recovery codes once, after the current password', async () => {
    const codes = Array.from({ length: 10 }, (_, i) => `code-${i}-abcd`);
    const calls = fakeApi({
      'GET /api/v1/auth/passkeys': { body: { passkeys: [] } },
      'POST /api/v1/auth/recovery-codes': { body: { recoveryCodes: codes } },
    });
    renderWithClient(<Account me={me()} />);
    expect(screen.getByText(/7 unused recovery codes left/)).toBeInTheDocument();
    const user = userEvent.setup();
    const form = screen.getByRole('form', { name: 'Replace recovery codes' });
    await user.type(within(form).getByLabelText('Your current password'), 'my password');
    await user.click(within(form).getByRole('button', { name: 'Make new recovery codes' }));
    const shown = await screen.findByRole('list', { name: 'New recovery codes' });
    expect(within(shown).getAllByRole('listitem')).toHaveLength(10);
    expect(bodyOf(calls, 'POST', '/api/v1/auth/recovery-codes')).toEqual({ currentPassword: 'my password' });
    await user.click(screen.getByRole('button', { name: 'I have saved these codes' }));
    expect(screen.queryByRole('list', { name: 'New recovery codes' })).not.toBeInTheDocument();
  });

  it('warns when the recovery codes are used up, and not while plenty are left', () => {
    fakeApi({ 'GET /api/v1/auth/passkeys': { body: { passkeys: [] } } });
    const { unmount } = renderWithClient(<Account me={me({ recoveryCodesLeft: 0 })} />);
    expect(screen.getByText(/You have no recovery codes: make new ones/)).toBeInTheDocument();
    unmount();
    renderWithClient(<Account me={me({ recoveryCodesLeft: 7 })} />);
    expect(screen.queryByText(/make new ones, or losing your authenticator/)).not.toBeInTheDocument();
  });

  it('says plainly when the current password is wrong', async () => {
    fakeApi({
      'GET /api/v1/auth/passkeys': { body: { passkeys: [] } },
      'POST /api/v1/auth/recovery-codes': problem(
        401,
        'VIGIL_ERR_AUTH_LOGIN_FAILED',
        'the current password is wrong',
      ),
    });
    renderWithClient(<Account me={me()} />);
    const user = userEvent.setup();
    const form = screen.getByRole('form', { name: 'Replace recovery codes' });
    await user.type(within(form).getByLabelText('Your current password'), 'nope');
    await user.click(within(form).getByRole('button', { name: 'Make new recovery codes' }));
    expect(await within(form).findByRole('alert')).toHaveTextContent('the current password is wrong');
  });

  it('changes the password, takes the new session CSRF token, and refuses two different new passwords', async () => {
    const calls = fakeApi({
      'GET /api/v1/auth/passkeys': { body: { passkeys: [] } },
      'POST /api/v1/auth/password': { body: { stage: 'full', csrfToken: 'N'.repeat(43), expiresAt: '' } },
    });
    renderWithClient(<Account me={me()} />);
    const user = userEvent.setup();
    const form = screen.getByRole('form', { name: 'Change password' });
    await user.type(within(form).getByLabelText('Current password'), 'old password here');
    await user.type(within(form).getByLabelText('New password'), 'new-quiet-harbour-2719');
    await user.type(within(form).getByLabelText('New password again'), 'new-quiet-harbour-2718');
    await user.click(within(form).getByRole('button', { name: 'Change password' }));
    expect(await within(form).findByRole('alert')).toHaveTextContent('The two new passwords differ');
    expect(calls.some((c) => c.path === '/api/v1/auth/password')).toBe(false);

    await user.type(within(form).getByLabelText('New password again'), '{Backspace}9');
    await user.click(within(form).getByRole('button', { name: 'Change password' }));
    expect(await within(form).findByRole('status')).toHaveTextContent(
      'Every other session of yours was signed out',
    );
    expect(bodyOf(calls, 'POST', '/api/v1/auth/password')).toEqual({
      currentPassword: 'old password here',
      newPassword: 'new-quiet-harbour-2719',
    });
    // Later changes carry the new session's token.
    await api('/api/v1/auth/logout', { method: 'POST' }).catch(() => undefined);
    expect(calls.at(-1)?.headers[CSRF_HEADER]).toBe('N'.repeat(43));
  });
});
