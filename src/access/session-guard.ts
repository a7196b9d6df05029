import { VigilError } from '../errors/catalogue.ts';
import type { TokenIdentity } from './api-tokens.ts';
import type { Role } from './roles.ts';
import { CSRF_HEADER, csrfTokenFromHeader, sessionIdFromCookieHeader } from './session-cookie.ts';
import { csrfMatches, type SessionStage, type SessionStore } from './sessions.ts';
import type { UserStore } from './users.store.ts';

/** A signed-in person, authenticated by the session cookie. */
export interface UserIdentity {
  kind: 'user';
  userId: string;
  /** The username. */
  name: string;
  role: Role;
  /** The audit actor: `user:<username>`. */
  actor: string;
  stage: Exclude<SessionStage, 'mfa'>;
  sessionIdHash: string;
  /** The session id itself, to rotate or end the session; never logged. */
  sessionId: string;
}

/** Who made a request: an integration's bearer token or a user's session. */
export type Identity = TokenIdentity | UserIdentity;

/** Requests that change nothing (RFC 9110 §9.2.1) need no CSRF token. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface CookieRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Authenticates the session cookie for the HTTP guard, with the CSRF check on changes. */
export class SessionAuthenticator {
  constructor(
    private readonly sessions: SessionStore,
    private readonly users: UserStore,
  ) {}

  /** Whether the request carries a Vigil session cookie at all (well-formed or not). */
  hasSessionCookie(request: CookieRequest): boolean {
    const cookie = request.headers.cookie;
    return typeof cookie === 'string' && cookie.includes('__Host-vigil_session=');
  }

  async authenticate(request: CookieRequest, opts: { touch?: boolean } = {}): Promise<UserIdentity> {
    const sessionId = sessionIdFromCookieHeader(request.headers.cookie);
    const session = sessionId ? await this.sessions.find(sessionId, opts) : undefined;
    if (!sessionId || !session || session.stage === 'mfa') {
      throw new VigilError('VIGIL_ERR_AUTH_REQUIRED', 'the session has ended or is unknown; sign in again');
    }
    const user = await this.users.findById(session.userId);
    if (!user || user.disabledAt !== null) {
      await this.sessions.end(session.idHash);
      throw new VigilError('VIGIL_ERR_AUTH_REQUIRED', 'the session has ended; sign in again');
    }
    if (!SAFE_METHODS.has(request.method.toUpperCase())) {
      if (!csrfMatches(sessionId, csrfTokenFromHeader(request.headers[CSRF_HEADER]))) {
        throw new VigilError(
          'VIGIL_ERR_AUTH_CSRF',
          `send the session's CSRF token in ${CSRF_HEADER} (from the sign-in answer or GET /api/v1/auth/me)`,
        );
      }
    }
    return {
      kind: 'user',
      userId: user.id,
      name: user.username,
      role: user.role,
      actor: `user:${user.username}`,
      stage: session.stage,
      sessionIdHash: session.idHash,
      sessionId,
    };
  }
}
