/**
 * Names a failed TLS handshake for the security log. Node reports it through the server's
 * `tlsClientError` event. A missing client certificate fails inside OpenSSL with its own
 * reason; a certificate that does not chain to the device CA passes OpenSSL's callback and is
 * then dropped by Node (rejectUnauthorized), which only shows as a "socket hang up" with the
 * verify result left on `tlsSocket.authorizationError`. Every other failure (expired, garbage
 * instead of a ClientHello, abandoned handshake) counts as a refused certificate.
 */
import type { ErrorCode } from '../../errors/catalogue.ts';

export interface TlsRefusal {
  readonly code: Extract<ErrorCode, 'VIGIL_ERR_TLS_NO_CERT' | 'VIGIL_ERR_TLS_BAD_CERT'>;
  readonly detail: string;
}

const MAX_DETAIL = 300;

/**
 * @param err the `tlsClientError` error
 * @param authorizationError the socket's `authorizationError` (a verify code such as
 *   UNABLE_TO_VERIFY_LEAF_SIGNATURE or CERT_HAS_EXPIRED), when Node recorded one
 */
export function classifyTlsFailure(err: Error & { code?: unknown }, authorizationError: unknown): TlsRefusal {
  const code = typeof err.code === 'string' ? err.code : 'no code';
  const text = `${code} ${err.message}`.toLowerCase();
  if (
    text.includes('peer_did_not_return_a_certificate') ||
    text.includes('peer did not return a certificate')
  ) {
    return { code: 'VIGIL_ERR_TLS_NO_CERT', detail: 'the client sent no certificate' };
  }
  if (authorizationError !== undefined && authorizationError !== null && String(authorizationError) !== '') {
    return {
      code: 'VIGIL_ERR_TLS_BAD_CERT',
      detail: `client certificate refused: ${String(authorizationError)}`.slice(0, MAX_DETAIL),
    };
  }
  return {
    code: 'VIGIL_ERR_TLS_BAD_CERT',
    detail: `TLS handshake failed (${code}): ${err.message}`.slice(0, MAX_DETAIL),
  };
}
