/**
 * The session cookie and the CSRF header. The `__Host-` prefix makes browsers insist on
 * Secure, Path=/ and no Domain, so a sibling subdomain cannot plant or shadow the cookie
 * (RFC 6265bis §4.1.3.2). HttpOnly keeps it from scripts; SameSite=Strict keeps it off
 * cross-site requests; the CSRF token header stops the rest (OWASP synchronizer token).
 */
export const SESSION_COOKIE = '__Host-vigil_session';
export const CSRF_HEADER = 'x-csrf-token';

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * Finds the session id in a Cookie header (RFC 6265 §5.4 syntax: `a=b; c=d`). Undefined when
 * absent, malformed, or present twice with different values (a planted duplicate). Never throws.
 */
export function sessionIdFromCookieHeader(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join('; ') : header;
  if (typeof text !== 'string' || text.length > 8192) return undefined;
  let found: string | undefined;
  for (const pair of text.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (!SESSION_ID.test(value)) return undefined;
    if (found !== undefined && found !== value) return undefined;
    found = value;
  }
  return found;
}

export function isSessionIdShaped(value: string): boolean {
  return SESSION_ID.test(value);
}

/** Set-Cookie for a new session; the lifetime is the session's absolute timeout. */
export function sessionCookie(sessionId: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${sessionId}; Path=/; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}; Secure; HttpOnly; SameSite=Strict`;
}

/** Set-Cookie that makes the browser forget the session. */
export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict`;
}

/** Reads the CSRF header; undefined when absent, repeated or not token-shaped. Never throws. */
export function csrfTokenFromHeader(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const value = header.trim();
  return SESSION_ID.test(value) ? value : undefined;
}
