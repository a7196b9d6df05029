import { type FormEvent, useState } from 'react';
import { api, setCsrfToken } from '../api/client.ts';
import { ErrorLine } from '../components/QueryNotice.tsx';

interface Enrolment {
  secret: string;
  otpauthUri: string;
  qr: string | null;
}

/** TOTP enrolment: a QR code for the app (and the key to type, for apps without a camera). */
export function TotpEnrol(props: { onRecoveryCodes(codes: string[]): void }) {
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [isBusy, setBusy] = useState(false);

  const begin = () => {
    setBusy(true);
    setError(null);
    api<{ secret: string; otpauthUri: string }>('/api/v1/auth/totp', { method: 'POST' })
      .then(async (r) => {
        // The QR code is drawn here, in the browser: the secret never goes to a third party.
        // Loaded on demand: only a first sign-in needs the QR encoder.
        const { default: QRCode } = await import('qrcode');
        const qr = await QRCode.toDataURL(r.otpauthUri, {
          errorCorrectionLevel: 'M',
          margin: 2,
          width: 220,
        }).catch(() => null);
        setEnrolment({ ...r, qr });
      })
      .catch(setError)
      .finally(() => setBusy(false));
  };

  const confirm = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const code = String(new FormData(e.currentTarget).get('totp-code') ?? '').replace(/\s+/g, '');
    setBusy(true);
    setError(null);
    api<{ recoveryCodes: string[]; csrfToken?: string }>('/api/v1/auth/totp/confirm', {
      method: 'POST',
      body: { code },
    })
      .then((r) => {
        if (r.csrfToken) setCsrfToken(r.csrfToken);
        props.onRecoveryCodes(r.recoveryCodes);
      })
      .catch(setError)
      .finally(() => setBusy(false));
  };

  if (!enrolment)
    return (
      <section aria-label="Authenticator app">
        <p>Vigil asks for a code from an authenticator app (such as FreeOTP or Aegis) at every sign-in.</p>
        <button type="button" onClick={begin} disabled={isBusy}>
          {isBusy ? 'Preparing…' : 'Set up authenticator app'}
        </button>
        <ErrorLine error={error} />
      </section>
    );
  return (
    <section aria-label="Authenticator app">
      <p>Scan this code with the app, then type the six digits it shows.</p>
      {enrolment.qr ? (
        <img
          className="qr"
          src={enrolment.qr}
          width={220}
          height={220}
          alt="QR code for your authenticator app"
        />
      ) : (
        <p className="notice">The QR code cannot be drawn here; type the key below into the app instead.</p>
      )}
      <p>
        Key for typing in by hand:{' '}
        <code className="secret" data-testid="totp-secret">
          {enrolment.secret}
        </code>
      </p>
      <form onSubmit={confirm} aria-label="Confirm authenticator">
        <label htmlFor="totp-code">Six-digit code from the app</label>
        <input
          id="totp-code"
          name="totp-code"
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="\d{6}"
          required
          maxLength={6}
        />
        <button type="submit" disabled={isBusy}>
          {isBusy ? 'Checking…' : 'Confirm'}
        </button>
      </form>
      <ErrorLine error={error} />
    </section>
  );
}
