import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { setCsrfToken } from '../api/client.ts';
import { canUsePasskeys, listPasskeys, registerPasskey, removePasskey } from '../api/passkeys.ts';
import { ConfirmButton } from '../components/ConfirmButton.tsx';
import { ErrorLine, QueryNotice } from '../components/QueryNotice.tsx';
import { ago } from '../lib/time.ts';

/** The signed-in user's passkeys: register one (named, so the list says which device it is), list, remove. */
export function AccountPasskeys(props: { onRecoveryCodes(codes: string[]): void }) {
  const client = useQueryClient();
  const passkeys = useQuery({ queryKey: ['passkeys'], queryFn: listPasskeys });
  const [done, setDone] = useState<string | null>(null);
  const [removePassword, setRemovePassword] = useState('');
  const refresh = () => client.invalidateQueries({ queryKey: ['passkeys'] });
  const remove = useMutation({
    mutationFn: (p: { id: string; name: string }) => removePasskey(p.id, removePassword).then(() => p.name),
    onSuccess: (name) => {
      setRemovePassword('');
      setDone(`Passkey “${name}” removed.`);
    },
    onSettled: refresh,
  });
  const list = passkeys.data?.passkeys ?? [];
  return (
    <section className="account-card" aria-labelledby="passkeys-title">
      <h2 id="passkeys-title">Passkeys</h2>
      <p className="muted">
        A passkey signs you in instead of the six-digit code: this computer&apos;s screen lock, a phone or a
        security key. It works only on this site, so a look-alike page cannot use it.
      </p>
      <QueryNotice isPending={passkeys.isPending} error={passkeys.error} what="your passkeys" />
      {passkeys.isSuccess && list.length === 0 && <p>You have no passkeys yet.</p>}
      {list.length > 0 && (
        <>
          <label htmlFor="passkey-remove-password">Your current password, to remove a passkey</label>
          <input
            id="passkey-remove-password"
            type="password"
            autoComplete="current-password"
            maxLength={1024}
            value={removePassword}
            onChange={(e) => setRemovePassword(e.target.value)}
          />
        </>
      )}
      {list.length > 0 && (
        <ul className="passkey-list" aria-label="Your passkeys">
          {list.map((p) => (
            <li key={p.id} aria-label={p.name}>
              <span>
                <strong>{p.name}</strong>
                <span className="muted">
                  {' '}
                  · added {ago(p.createdAt)} ·{' '}
                  {p.lastUsedAt ? `last used ${ago(p.lastUsedAt)}` : 'not used yet'}
                </span>
              </span>
              <ConfirmButton
                label="Remove"
                confirmLabel="Confirm removal"
                target={`passkey ${p.name}`}
                danger
                disabled={remove.isPending || removePassword === ''}
                onConfirm={() => remove.mutate(p)}
              />
            </li>
          ))}
        </ul>
      )}
      <ErrorLine error={remove.error} />
      {done && (
        <p className="notice" role="status">
          {done}
        </p>
      )}
      <RegisterPasskey
        onRegistered={(name, codes) => {
          setDone(`Passkey “${name}” added; you can sign in with it from now on.`);
          void refresh();
          if (codes) props.onRecoveryCodes(codes);
        }}
      />
    </section>
  );
}

function RegisterPasskey(props: { onRegistered(name: string, recoveryCodes?: string[]): void }) {
  const [error, setError] = useState<unknown>(null);
  const [isBusy, setBusy] = useState(false);
  if (!canUsePasskeys())
    return <p className="notice">This browser cannot create passkeys (WebAuthn is unavailable here).</p>;
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const formEl = e.currentTarget;
    const form = new FormData(formEl);
    const name = String(form.get('passkey-name') ?? '').trim();
    setBusy(true);
    setError(null);
    registerPasskey(name, String(form.get('passkey-password') ?? ''))
      .then((r) => {
        if (r.csrfToken) setCsrfToken(r.csrfToken);
        formEl.reset();
        props.onRegistered(r.name, r.recoveryCodes);
      })
      .catch(setError)
      .finally(() => setBusy(false));
  };
  return (
    <form className="account-form" onSubmit={onSubmit} aria-label="Add a passkey">
      <h3>Add a passkey</h3>
      <label htmlFor="passkey-name">Name for this passkey</label>
      <input
        id="passkey-name"
        name="passkey-name"
        required
        maxLength={100}
        placeholder="Ward laptop, YubiKey…"
        aria-describedby="passkey-name-help"
      />
      <p id="passkey-name-help" className="muted">
        So that you know which one to remove if a device is lost.
      </p>
      <label htmlFor="passkey-password">Your current password</label>
      <input
        id="passkey-password"
        name="passkey-password"
        type="password"
        autoComplete="current-password"
        required
        maxLength={1024}
      />
      <button type="submit" disabled={isBusy}>
        {isBusy ? 'Waiting for your authenticator…' : 'Add passkey'}
      </button>
      <ErrorLine error={error} />
    </form>
  );
}
