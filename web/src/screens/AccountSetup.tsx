import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import type { Me } from '../api/types.ts';
import { RecoveryCodeList } from '../components/OneTimeSecret.tsx';
import { changePassword, PasswordChangeFields } from '../components/PasswordChangeFields.tsx';
import { ErrorLine } from '../components/QueryNotice.tsx';
import { TotpEnrol } from './TotpEnrol.tsx';

/** First sign-in: replace the one-time password, then enrol an authenticator app. */
export function AccountSetup(props: { me: Me; onRecoveryCodes(codes: string[]): void }) {
  return (
    <main className="signin" aria-labelledby="setup-title">
      <h1 id="setup-title">Finish setting up your account</h1>
      <p>
        Signed in as <strong>{props.me.username}</strong> ({props.me.role}). Two steps remain before the
        dashboard opens.
      </p>
      <ol className="steps">
        <li aria-current={props.me.mustChangePassword ? 'step' : undefined}>Choose your own password</li>
        <li aria-current={props.me.mustChangePassword ? undefined : 'step'}>Set up an authenticator app</li>
      </ol>
      {props.me.mustChangePassword ? (
        <ChangePassword />
      ) : (
        <TotpEnrol onRecoveryCodes={props.onRecoveryCodes} />
      )}
    </main>
  );
}

function ChangePassword() {
  const client = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [isBusy, setBusy] = useState(false);
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    changePassword(new FormData(e.currentTarget), '')
      .then(() => client.invalidateQueries({ queryKey: ['me'] }))
      .catch(setError)
      .finally(() => setBusy(false));
  };
  return (
    <form onSubmit={onSubmit} aria-label="Change password">
      <PasswordChangeFields prefix="" currentLabel="One-time password you were given" />
      <button type="submit" disabled={isBusy}>
        {isBusy ? 'Saving…' : 'Save password'}
      </button>
      <ErrorLine error={error} />
    </form>
  );
}

/** Recovery codes are shown once; the dashboard opens only when the reader says they are kept. */
export function RecoveryCodes(props: { codes: string[]; onDone(): void }) {
  return (
    <main className="signin" aria-labelledby="codes-title">
      <h1 id="codes-title">Save your recovery codes</h1>
      <p>
        Each code signs you in once if you lose your authenticator app. They are shown{' '}
        <strong>only now</strong>: print them or keep them in a password manager.
      </p>
      <RecoveryCodeList codes={props.codes} label="Recovery codes" />
      <button type="button" onClick={props.onDone}>
        I have saved these codes
      </button>
    </main>
  );
}
