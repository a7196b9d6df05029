import { api, setCsrfToken } from '../api/client.ts';
import type { SessionAnswer } from '../api/types.ts';

/**
 * The current password, the new one and the new one again: the same three fields at first
 * sign-in (replacing the one-time password) and on the Account screen. `prefix` keeps the
 * element ids unique on a page.
 */
export function PasswordChangeFields(props: { prefix: string; currentLabel: string }) {
  const id = (name: string) => `${props.prefix}${name}`;
  return (
    <>
      <label htmlFor={id('current-password')}>{props.currentLabel}</label>
      <input
        id={id('current-password')}
        name={id('current-password')}
        type="password"
        autoComplete="current-password"
        required
        maxLength={1024}
      />
      <label htmlFor={id('new-password')}>New password</label>
      <input
        id={id('new-password')}
        name={id('new-password')}
        type="password"
        autoComplete="new-password"
        required
        minLength={12}
        maxLength={1024}
        aria-describedby={id('password-help')}
      />
      <p id={id('password-help')} className="muted">
        At least 12 characters; a few unrelated words are easy to remember and hard to guess.
      </p>
      <label htmlFor={id('confirm-password')}>New password again</label>
      <input
        id={id('confirm-password')}
        name={id('confirm-password')}
        type="password"
        autoComplete="new-password"
        required
        maxLength={1024}
      />
    </>
  );
}

/**
 * Sends the change the fields hold. The server ends every other session (a thief's too) and
 * sets a new cookie for this one, whose CSRF token replaces the old.
 */
export async function changePassword(form: FormData, prefix: string): Promise<void> {
  const next = String(form.get(`${prefix}new-password`) ?? '');
  if (next !== String(form.get(`${prefix}confirm-password`) ?? ''))
    throw new Error('The two new passwords differ; type the same one twice.');
  const answer = await api<SessionAnswer>('/api/v1/auth/password', {
    method: 'POST',
    body: { currentPassword: String(form.get(`${prefix}current-password`) ?? ''), newPassword: next },
  });
  setCsrfToken(answer.csrfToken);
}
