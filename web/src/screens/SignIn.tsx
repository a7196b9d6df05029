import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { ApiError, api, setCsrfToken } from '../api/client.ts';
import { canUsePasskeys, isExpiredTicket, signInWithPasskey } from '../api/passkeys.ts';
import type { LoginAnswer, SessionAnswer } from '../api/types.ts';
import { ErrorLine } from '../components/QueryNotice.tsx';
import '../account.css';

/** Lockout and expiry get their own words; everything else says what the server said. */
function signInMessage(error: unknown): unknown {
  if (!(error instanceof ApiError)) return error;
  if (error.code === 'VIGIL_ERR_AUTH_THROTTLED')
    return new Error(`Too many failed attempts: sign-in is locked for now. ${error.detail}`);
  if (error.isMissingRoute) return new Error('Sign-in is not available on this server yet.');
  return error;
}

/** Step one, password; step two, the authenticator code, a recovery code or a passkey. */
export function SignIn(props: { notice?: string | undefined }) {
  const client = useQueryClient();
  const [ticket, setTicket] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<'password' | 'code' | 'passkey' | null>(null);
  const [expired, setExpired] = useState(false);
  const isBusy = busy !== null;
  // Browsers without WebAuthn (or an insecure page) get no button that could only fail.
  const hasPasskeys = canUsePasskeys();

  const run = async (step: NonNullable<typeof busy>, work: () => Promise<void>) => {
    setBusy(step);
    setError(null);
    try {
      await work();
    } catch (e) {
      setError(signInMessage(e));
    } finally {
      setBusy(null);
    }
  };

  /** Second step done: the session cookie is set; an expired ticket sends the person back to the password. */
  const secondStep = async (step: 'code' | 'passkey', prove: (ticket: string) => Promise<SessionAnswer>) =>
    run(step, async () => {
      try {
        const answer = await prove(ticket ?? '');
        setCsrfToken(answer.csrfToken);
        await client.invalidateQueries({ queryKey: ['me'] });
      } catch (err) {
        if (isExpiredTicket(err)) {
          setTicket(null);
          setExpired(true);
          return;
        }
        throw err;
      }
    });

  const onPassword = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    void run('password', async () => {
      const answer = await api<LoginAnswer>('/api/v1/auth/login', {
        method: 'POST',
        body: { username: String(form.get('username') ?? ''), password: String(form.get('password') ?? '') },
      });
      setExpired(false);
      if (answer.mfaRequired && answer.ticket) {
        setTicket(answer.ticket);
        return;
      }
      // A new account: a setup session that may only change its password and enrol TOTP.
      setCsrfToken(answer.csrfToken);
      await client.invalidateQueries({ queryKey: ['me'] });
    });
  };

  const onCode = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const value = String(form.get('code') ?? '').replace(/\s+/g, '');
    const isRecovery = !/^\d{6}$/.test(value);
    void secondStep('code', (t) =>
      api<SessionAnswer>('/api/v1/auth/mfa', {
        method: 'POST',
        body: isRecovery ? { ticket: t, recoveryCode: value } : { ticket: t, code: value },
      }),
    );
  };

  return (
    <main className="signin" aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in to Vigil</h1>
      {props.notice && (
        <p className="notice" role="status">
          {props.notice}
        </p>
      )}
      {expired && (
        <p className="notice notice-error" role="alert">
          The sign-in step expired or used up its attempts; enter your password again.
        </p>
      )}
      {ticket === null ? (
        <form key="password" onSubmit={onPassword} aria-label="Sign in with password">
          <label htmlFor="username">Username</label>
          <input id="username" name="username" autoComplete="username" required maxLength={256} />
          <label htmlFor="password">Password</label>
          <input
            id="password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            maxLength={1024}
          />
          <button type="submit" disabled={isBusy}>
            {busy === 'password' ? 'Checking…' : 'Continue'}
          </button>
        </form>
      ) : (
        <form key="code" onSubmit={onCode} aria-label="Second step">
          <label htmlFor="code">Code from your authenticator app</label>
          <input
            id="code"
            name="code"
            autoComplete="one-time-code"
            inputMode="numeric"
            required
            maxLength={64}
            aria-describedby="code-help"
          />
          <p id="code-help" className="muted">
            Six digits, or one of your recovery codes if you lost the app.
          </p>
          <button type="submit" disabled={isBusy}>
            {busy === 'code' ? 'Checking…' : 'Sign in'}
          </button>
          {hasPasskeys && (
            <>
              <button
                type="button"
                className="link passkey-button"
                disabled={isBusy}
                aria-describedby="passkey-help"
                onClick={() => void secondStep('passkey', signInWithPasskey)}
              >
                {busy === 'passkey' ? 'Waiting for your passkey…' : 'Use a passkey'}
              </button>
              <p id="passkey-help" className="muted">
                Instead of a code: a passkey on this device, a phone or a security key.
              </p>
            </>
          )}
          <button type="button" className="link" onClick={() => setTicket(null)}>
            Start again
          </button>
        </form>
      )}
      <ErrorLine error={error} />
    </main>
  );
}
