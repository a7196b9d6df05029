import type { Kysely } from 'kysely';
import type { AuditInput } from '../audit/audit-log.ts';
import type { KeyRing } from '../crypto/key-ring.ts';
import type { App } from '../server/http.ts';
import type { Schema } from '../store/schema.ts';
import { ApiTokens } from './api-tokens.ts';
import { registerAuthRoutes, type SessionStreams } from './auth-routes.ts';
import { AuthService } from './auth-service.ts';
import { Enrolment } from './enrolment.ts';
import { LoginThrottle } from './login-throttle.ts';
import { registerPasskeyRoutes } from './passkey-routes.ts';
import { Passkeys, relyingPartyId } from './passkeys.ts';
import { SessionAuthenticator } from './session-guard.ts';
import { DEFAULT_TIMEOUTS, SessionStore, type SessionTimeouts } from './sessions.ts';
import { registerTokenRoutes } from './token-routes.ts';
import { registerUserRoutes } from './user-routes.ts';
import { UserStore } from './users.store.ts';

export interface AccessDeps {
  db: Kysely<Schema>;
  keys: KeyRing;
  audit: { append(input: AuditInput): Promise<void> };
  now?: () => number;
  timeouts?: SessionTimeouts;
  /** The host users reach Vigil at (VIGIL_HOST); passkeys are bound to it. */
  host?: string;
  /** The live stream hub: signing out ends that session's streams at once. */
  streams: SessionStreams;
}

/** Users, sessions, sign-in and API tokens, built once by the composition root. */
export function createAccess(deps: AccessDeps) {
  const now = deps.now ?? Date.now;
  const users = new UserStore(deps.db, deps.keys, now);
  const sessions = new SessionStore(deps.db, now, deps.timeouts ?? DEFAULT_TIMEOUTS);
  const throttle = new LoginThrottle(deps.db, now);
  const tokens = new ApiTokens(deps.db);
  const passkeys = new Passkeys(deps.db, relyingPartyId(deps.host ?? 'localhost'), now);
  const auth = new AuthService({ users, sessions, throttle, passkeys, audit: deps.audit, now });
  const enrolment = new Enrolment({
    confirmPassword: (who, password, address, action) => auth.confirmPassword(who, password, address, action),
    users,
    sessions,
    passkeys,
    audit: deps.audit,
    now,
  });
  const guard = new SessionAuthenticator(sessions, users);
  return {
    users,
    sessions,
    throttle,
    tokens,
    passkeys,
    auth,
    enrolment,
    guard,
    registerRoutes(app: App): void {
      registerAuthRoutes(app, { auth, enrolment, sessions, users, streams: deps.streams });
      registerPasskeyRoutes(app, { auth, enrolment, passkeys, sessions });
      registerUserRoutes(app, { users, sessions, audit: deps.audit, streams: deps.streams });
      registerTokenRoutes(app, { tokens, audit: deps.audit });
    },
  };
}

export type Access = ReturnType<typeof createAccess>;
