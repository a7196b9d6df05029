import { VigilError } from '../errors/catalogue.ts';

export interface SmtpSettings {
  host: string;
  port: number;
  /** smtps://: TLS from the first byte (RFC 8314 §3.3, port 465). */
  secure: boolean;
  /** smtp://: STARTTLS is required (the message is refused without it) unless the URL says tls=off. */
  requireStartTls: boolean;
  auth: { user: string; pass: string } | undefined;
}

function refuse(why: string): never {
  // The URL may hold a password: the message names the problem, never the value.
  throw new VigilError('VIGIL_ERR_CONFIG_INVALID', `VIGIL_SMTP_URL ${why}`);
}

/**
 * URL credentials are percent-encoded (RFC 3986 §3.2.1): a password with a bare `%` ("p%ss")
 * does not decode, and decodeURIComponent's "URI malformed" would end start-up unexplained.
 */
function decodeCredential(encoded: string, what: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return refuse(
      `has a ${what} with a % that does not start an escape; write % as %25 (and @ as %40, : as %3A)`,
    );
  }
}

/**
 * Reads VIGIL_SMTP_URL: `smtp://[user:pass@]host[:port]` (STARTTLS required, port 587 by
 * default), `smtps://...` (implicit TLS, port 465), or `smtp://host:port?tls=off` for a local
 * test relay only, since mail then crosses the network in clear.
 */
export function parseSmtpUrl(input: string): SmtpSettings {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    refuse('is not a URL; use smtp://host:587 or smtps://host:465');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    refuse(`has scheme ${url.protocol}; use smtp:// (STARTTLS) or smtps:// (implicit TLS)`);
  }
  if (url.hostname === '') refuse('has no host');
  if (url.pathname !== '' && url.pathname !== '/') refuse('has a path; an SMTP URL names only a server');
  let tlsOff = false;
  for (const [key, value] of url.searchParams) {
    if (key === 'tls' && value === 'off' && url.protocol === 'smtp:') tlsOff = true;
    else
      refuse(
        `has an unknown option "${key.slice(0, 20)}"; the only one is tls=off (smtp:// to a local relay)`,
      );
  }
  const secure = url.protocol === 'smtps:';
  const user = decodeCredential(url.username, 'user name');
  const pass = decodeCredential(url.password, 'password');
  if ((user === '') !== (pass === '')) refuse('has a user without a password or the other way round');
  if (user !== '' && tlsOff) refuse('sends a password with tls=off; remove one of them');
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? (secure ? 465 : 587) : Number(url.port),
    secure,
    requireStartTls: !secure && !tlsOff,
    auth: user === '' ? undefined : { user, pass },
  };
}
