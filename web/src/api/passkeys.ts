import {
  browserSupportsWebAuthn,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  startAuthentication,
  startRegistration,
} from '@simplewebauthn/browser';
import { ApiError, api } from './client.ts';
import type { SessionAnswer } from './types.ts';

/**
 * The WebAuthn ceremonies of the dashboard, against the server's routes in
 * src/access/passkey-routes.ts. @simplewebauthn/browser turns the server's JSON options into
 * navigator.credentials calls and the answers back into JSON; the server checks every byte.
 */

export interface PasskeyInfo {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export function canUsePasskeys(): boolean {
  return browserSupportsWebAuthn();
}

/** Second step of sign-in: the ticket from the password step, answered with a passkey. */
export async function signInWithPasskey(ticket: string): Promise<SessionAnswer> {
  const optionsJSON = await api<PublicKeyCredentialRequestOptionsJSON>('/api/v1/auth/webauthn/options', {
    method: 'POST',
    body: { ticket },
  });
  const credential = await startAuthentication({ optionsJSON }).catch(rethrowCeremony);
  try {
    return await api<SessionAnswer>('/api/v1/auth/webauthn', {
      method: 'POST',
      body: { ticket, credential },
    });
  } catch (e) {
    // The server answers a wrong assertion like a wrong code; here it can only mean the passkey.
    if (e instanceof ApiError && e.code === 'VIGIL_ERR_AUTH_LOGIN_FAILED' && !isExpiredTicket(e))
      throw new PasskeyError(
        'unknown',
        'This passkey is not registered to your account (or was not accepted). Use another passkey or a code.',
      );
    throw e;
  }
}

export interface RegisteredPasskey {
  id: string;
  name: string;
  /** Only when this was the account's first second factor. */
  recoveryCodes?: string[];
  csrfToken?: string;
}

/** Registers a new passkey for the signed-in user; the server wants the password again. */
export async function registerPasskey(name: string, currentPassword: string): Promise<RegisteredPasskey> {
  const optionsJSON = await api<PublicKeyCredentialCreationOptionsJSON>('/api/v1/auth/passkeys/options', {
    method: 'POST',
    body: { currentPassword },
  });
  const credential = await startRegistration({ optionsJSON }).catch(rethrowCeremony);
  return api<RegisteredPasskey>('/api/v1/auth/passkeys', { method: 'POST', body: { name, credential } });
}

export const listPasskeys = () => api<{ passkeys: PasskeyInfo[] }>('/api/v1/auth/passkeys');

/** The server wants the password again, so a stolen session cannot drop the owner's passkey. */
export const removePasskey = (id: string, currentPassword: string) =>
  api<void>(`/api/v1/auth/passkeys/${encodeURIComponent(id)}`, {
    method: 'DELETE',
    body: { currentPassword },
  });

/** What went wrong in the browser's part of a ceremony, in words for the person at it. */
export class PasskeyError extends Error {
  constructor(
    readonly kind: 'cancelled' | 'unknown' | 'address' | 'registered' | 'failed',
    message: string,
  ) {
    super(message);
    this.name = 'PasskeyError';
  }
}

export function isExpiredTicket(e: unknown): boolean {
  return e instanceof ApiError && /ticket is unknown or expired/.test(e.detail);
}

/**
 * WebAuthn reports a cancelled prompt, a timeout and "no passkey on this device" all as
 * NotAllowedError (WebAuthn L3 §5.1.4.1 hides which, for privacy), so one message covers them.
 */
function rethrowCeremony(e: unknown): never {
  const err = e as { name?: string; code?: string; cause?: { name?: string } };
  const name = err.cause?.name ?? err.name;
  if (name === 'NotAllowedError' || name === 'AbortError' || err.code === 'ERROR_CEREMONY_ABORTED')
    throw new PasskeyError(
      'cancelled',
      'The passkey request was cancelled or timed out, or this device holds no passkey for this account.',
    );
  if (err.code === 'ERROR_INVALID_DOMAIN' || err.code === 'ERROR_INVALID_RP_ID' || name === 'SecurityError')
    throw new PasskeyError(
      'address',
      `Passkeys do not work at ${window.location.host}: open Vigil by its host name (such as localhost), not an IP address.`,
    );
  if (err.code === 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED' || name === 'InvalidStateError')
    throw new PasskeyError('registered', 'This authenticator already holds a passkey for your account.');
  throw new PasskeyError(
    'failed',
    `The authenticator could not complete the request${e instanceof Error && e.message ? `: ${e.message}` : '.'}`,
  );
}
