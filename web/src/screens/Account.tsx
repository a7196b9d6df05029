import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, setCsrfToken } from '../api/client.ts';
import type { Me } from '../api/types.ts';
import { changePassword, PasswordChangeFields } from '../components/PasswordChangeFields.tsx';
import { ErrorLine } from '../components/QueryNotice.tsx';
import { AccountPasskeys } from './AccountPasskeys.tsx';
import '../account.css';
import { RecoveryCodeList } from '../components/OneTimeSecret.tsx';

/**
 * The signed-in person's own account: passkeys, recovery codes, password, and this session.
 * Every change of a credential asks for the current password again (the server insists: a
 * stolen session alone must not be able to swap factors, OWASP ASVS V2.1/V3.7).
 */
export function Account(props: { me: Me }) {
  const [codes, setCodes] = useState<string[] | null>(null);
  return (
    <section aria-labelledby="account-title" className="account">
      <h1 id="account-title">Your account</h1>
      <p>
        Signed in as <strong>{props.me.username}</strong> ({props.me.role}). Authenticator app:{' '}
        {props.me.totpEnrolled ? 'set up' : 'not set up'}.
      </p>
      {codes && <NewRecoveryCodes codes={codes} onDone={() => setCodes(null)} />}
      <AccountPasskeys onRecoveryCodes={setCodes} />
      <RecoveryCodesCard left={props.me.recoveryCodesLeft} onCodes={setCodes} />
      <ChangePasswordCard />
      <SignOutCard />
    </section>
  );
}

/** Shown once: the server keeps only their hashes. */
function NewRecoveryCodes(props: { codes: string[]; onDone(): void }) {
  return (
    <section className="account-card account-codes" aria-labelledby="new-codes-title">
      <h2 id="new-codes-title">Your new recovery codes</h2>
      <p>
        Each code signs you in once if you lose your authenticator. They are shown <strong>only now</strong>{' '}
        and the old ones no longer work: print them or keep them in a password manager.
      </p>
      <RecoveryCodeList codes={props.codes} label="New recovery codes" />
      <button type="button" onClick={props.onDone}>
        I have saved these codes
      </button>
    </section>
  );
}

/** Runs one form submission with busy and error state; the form is cleared after success. */
function useSubmit(work: (form: FormData) => Promise<void>) {
  const [error, setError] = useState<unknown>(null);
  const [isBusy, setBusy] = useState(false);
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const formEl = e.currentTarget;
    setBusy(true);
    setError(null);
    work(new FormData(formEl))
      .then(() => formEl.reset())
      .catch(setError)
      .finally(() => setBusy(false));
  };
  return { onSubmit, error, isBusy, setError };
}

/** Below this many, the card warns: each sign-in without the authenticator spends one. */
const LOW_RECOVERY_CODES = 2;

function RecoveryCodesCard(props: { left: number; onCodes(codes: string[]): void }) {
  const client = useQueryClient();
  const submit = useSubmit(async (form) => {
    const r = await api<{ recoveryCodes: string[] }>('/api/v1/auth/recovery-codes', {
      method: 'POST',
      body: { currentPassword: String(form.get('codes-password') ?? '') },
    });
    props.onCodes(r.recoveryCodes);
    await client.invalidateQueries({ queryKey: ['me'] });
  });
  return (
    <section className="account-card" aria-labelledby="codes-title">
      <h2 id="codes-title">Recovery codes</h2>
      <p>
        {props.left} unused recovery {props.left === 1 ? 'code' : 'codes'} left. New codes replace all the old
        ones.
      </p>
      {props.left <= LOW_RECOVERY_CODES && (
        <p className="notice notice-error">
          {props.left === 0 ? 'You have no recovery codes' : 'You are running out of recovery codes'}: make
          new ones, or losing your authenticator will lock you out until an administrator resets it.
        </p>
      )}
      <form className="account-form" onSubmit={submit.onSubmit} aria-label="Replace recovery codes">
        <label htmlFor="codes-password">Your current password</label>
        <input
          id="codes-password"
          name="codes-password"
          type="password"
          autoComplete="current-password"
          required
          maxLength={1024}
        />
        <button type="submit" disabled={submit.isBusy}>
          {submit.isBusy ? 'Making codes…' : 'Make new recovery codes'}
        </button>
        <ErrorLine error={submit.error} />
      </form>
    </section>
  );
}

function ChangePasswordCard() {
  const client = useQueryClient();
  const [isChanged, setChanged] = useState(false);
  const submit = useSubmit(async (form) => {
    setChanged(false);
    await changePassword(form, 'account-');
    setChanged(true);
    await client.invalidateQueries({ queryKey: ['me'] });
  });
  return (
    <section className="account-card" aria-labelledby="password-title">
      <h2 id="password-title">Password</h2>
      <form className="account-form" onSubmit={submit.onSubmit} aria-label="Change password">
        <PasswordChangeFields prefix="account-" currentLabel="Current password" />
        <button type="submit" disabled={submit.isBusy}>
          {submit.isBusy ? 'Saving…' : 'Change password'}
        </button>
        <ErrorLine error={submit.error} />
        {isChanged && (
          <p className="notice" role="status">
            Password changed. Every other session of yours was signed out.
          </p>
        )}
      </form>
    </section>
  );
}

function SignOutCard() {
  const [isBusy, setBusy] = useState(false);
  const signOut = async () => {
    setBusy(true);
    await api('/api/v1/auth/logout', { method: 'POST' }).catch(() => undefined);
    setCsrfToken(undefined);
    // A fresh page load drops every cached answer of the session (as the header's sign-out does).
    window.location.assign('/');
  };
  return (
    <section className="account-card" aria-labelledby="session-title">
      <h2 id="session-title">This session</h2>
      <p>Signing out ends this session on the server; your other devices stay signed in.</p>
      <button type="button" disabled={isBusy} onClick={() => void signOut()}>
        Sign out of this session
      </button>
    </section>
  );
}
