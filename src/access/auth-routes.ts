import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isVigilError, VigilError } from '../errors/catalogue.ts';
import type { App } from '../server/http.ts';
import type { AuthService, IssuedSession } from './auth-service.ts';
import type { Enrolment } from './enrolment.ts';
import { clearedSessionCookie, sessionCookie, sessionIdFromCookieHeader } from './session-cookie.ts';
import type { UserIdentity } from './session-guard.ts';
import { csrfTokenFor, type SessionStore } from './sessions.ts';
import type { UserStore } from './users.store.ts';

/**
 * The live stream's side of ending a session (src/notify/stream-hub.ts): its open streams are
 * closed at once (error frame, 1008) rather than at the stream's next re-check, up to 30 s later.
 */
export interface SessionStreams {
  endSessionStreams(sessionIdHash: string, detail: string): void;
  endUserStreams(userId: string, detail: string): void;
}

export interface AuthRouteDeps {
  auth: AuthService;
  enrolment: Enrolment;
  sessions: SessionStore;
  users: UserStore;
  /** The live stream: a session ended here ends its streams at once, not at their next re-check. */
  streams: SessionStreams;
}

const SessionId = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' });
const SessionAnswer = Type.Object({
  stage: Type.Union([Type.Literal('setup'), Type.Literal('full')]),
  csrfToken: Type.String(),
  expiresAt: Type.String(),
});
const LoginAnswer = Type.Object({
  mfaRequired: Type.Boolean(),
  ticket: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.String(),
  stage: Type.Optional(Type.Literal('setup')),
  csrfToken: Type.Optional(Type.String()),
});
const session = [{ sessionCookie: [] }];

/** Answers that carry tickets, codes or secrets must never sit in a cache (RFC 9111 §5.2.2.5). */
export function noStore(reply: FastifyReply): void {
  void reply.header('cache-control', 'no-store');
}

/** Ends a session the browser already held (never carried over: every sign-in gets a new id) and sets the new one. */
export async function finishSignIn(
  sessions: SessionStore,
  request: FastifyRequest,
  reply: FastifyReply,
  issued: IssuedSession,
) {
  const previous = sessionIdFromCookieHeader(request.headers.cookie);
  if (previous) {
    const old = await sessions.find(previous);
    if (old) await sessions.end(old.idHash);
  }
  return setSession(reply, issued, Date.now());
}

export function setSession(reply: FastifyReply, s: IssuedSession, nowMs: number) {
  void reply.header('set-cookie', sessionCookie(s.id, (s.expiresAt - nowMs) / 1000));
  return { stage: s.stage, csrfToken: s.csrfToken, expiresAt: new Date(s.expiresAt).toISOString() };
}

/**
 * The optional `{ currentPassword }` body of the factor-changing routes. A body schema would
 * refuse the empty body a first enrolment sends, so it is read here; never throws for JSON.
 */
export function currentPasswordOf(body: unknown): string | undefined {
  if (body === undefined || body === null || typeof body !== 'object') return undefined;
  // As strict as a schema would be: an unknown field is refused, not ignored (validation-detail.ts).
  const unknown = Object.keys(body).find((k) => k !== 'currentPassword');
  if (unknown !== undefined)
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `body has an unknown field ${JSON.stringify(unknown.slice(0, 64))}; only currentPassword is taken`,
    );
  const value = (body as { currentPassword?: unknown }).currentPassword;
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > 1024)
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      'currentPassword must be a string of at most 1024 characters',
    );
  return value;
}

/** The guard has authenticated a session on `account` routes; this narrows the type. */
export function userOf(request: FastifyRequest): UserIdentity {
  const who = request.identity;
  if (who?.kind !== 'user') throw new VigilError('VIGIL_ERR_AUTH_REQUIRED', 'sign in first');
  return who;
}

/** Throttled answers say when to come back (RFC 9110 §10.2.3). */
export async function withRetryAfter<T>(reply: FastifyReply, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    const retry = (e as { cause?: { retryAfterSeconds?: unknown } }).cause?.retryAfterSeconds;
    if (isVigilError(e) && e.code === 'VIGIL_ERR_AUTH_THROTTLED' && typeof retry === 'number')
      void reply.header('retry-after', String(retry));
    throw e;
  }
}

export function registerAuthRoutes(app: App, deps: AuthRouteDeps): void {
  const { auth, enrolment } = deps;

  // Login needs no CSRF token: a cross-site form cannot send JSON, and Vigil answers no CORS
  // preflight, so another site cannot sign a browser in under the attacker's account.
  app.post(
    '/api/v1/auth/login',
    {
      config: { access: { public: true } },
      schema: {
        summary: 'Sign in with username and password; answers with a ticket for the second factor',
        body: Type.Object(
          { username: Type.String({ maxLength: 256 }), password: Type.String({ maxLength: 1024 }) },
          { additionalProperties: false },
        ),
        response: { 200: LoginAnswer },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const outcome = await withRetryAfter(reply, () =>
        auth.login(request.body.username, request.body.password, request.ip),
      );
      if (outcome.kind === 'mfa')
        return {
          mfaRequired: true,
          ticket: outcome.ticket,
          expiresAt: new Date(outcome.expiresAt).toISOString(),
        };
      // No second factor enrolled yet: a setup session that can only change the password and enrol TOTP.
      return {
        mfaRequired: false,
        ticket: null,
        ...(await finishSignIn(deps.sessions, request, reply, outcome.session)),
        stage: 'setup' as const,
      };
    },
  );

  app.post(
    '/api/v1/auth/mfa',
    {
      config: { access: { public: true } },
      schema: {
        summary: 'Complete sign-in with a TOTP code or a recovery code; sets the session cookie',
        body: Type.Object(
          {
            ticket: SessionId,
            code: Type.Optional(Type.String({ maxLength: 16 })),
            recoveryCode: Type.Optional(Type.String({ maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: SessionAnswer },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const { ticket, code, recoveryCode } = request.body;
      if ((code === undefined) === (recoveryCode === undefined))
        throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'send either code (TOTP) or recoveryCode');
      const issued = await withRetryAfter(reply, () =>
        auth.completeMfa(ticket, { code, recoveryCode }, request.ip),
      );
      return finishSignIn(deps.sessions, request, reply, issued);
    },
  );

  app.post(
    '/api/v1/auth/logout',
    {
      config: { access: { account: true } },
      schema: { summary: 'End this session', security: session },
    },
    async (request, reply) => {
      const who = userOf(request);
      await auth.logout(who, request.ip);
      // After the session ended in the store, so a stream that reconnects at once is refused.
      deps.streams.endSessionStreams(who.sessionIdHash, 'signed out in this browser; sign in again');
      return reply.header('set-cookie', clearedSessionCookie()).code(204).send();
    },
  );

  app.get(
    '/api/v1/auth/me',
    {
      config: { access: { account: true } },
      schema: {
        summary: 'The signed-in user, the session stage and the CSRF token for changes',
        security: session,
        response: {
          200: Type.Object({
            id: Type.String(),
            username: Type.String(),
            role: Type.String(),
            stage: Type.String(),
            mustChangePassword: Type.Boolean(),
            totpEnrolled: Type.Boolean(),
            recoveryCodesLeft: Type.Integer(),
            csrfToken: Type.String(),
          }),
        },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const who = userOf(request);
      const user = await deps.users.findById(who.userId);
      if (!user) throw new VigilError('VIGIL_ERR_AUTH_REQUIRED', 'the session has ended; sign in again');
      return {
        id: user.id,
        username: user.username,
        role: user.role,
        stage: who.stage,
        mustChangePassword: user.mustChangePassword,
        totpEnrolled: user.hasTotp,
        recoveryCodesLeft: await deps.users.unusedRecoveryCodes(user.id),
        csrfToken: csrfTokenFor(who.sessionId),
      };
    },
  );

  app.post(
    '/api/v1/auth/password',
    {
      config: { access: { account: true } },
      schema: {
        summary: 'Change the password; ends every session of the user and issues a new one',
        security: session,
        body: Type.Object(
          {
            currentPassword: Type.String({ maxLength: 1024 }),
            newPassword: Type.String({ maxLength: 1024 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: SessionAnswer },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const who = userOf(request);
      const issued = await withRetryAfter(reply, () =>
        auth.changePassword(who, request.body.currentPassword, request.body.newPassword, request.ip),
      );
      // Every session of the user has ended, so have their streams; this tab reconnects with the new one.
      deps.streams.endUserStreams(who.userId, 'the password changed and every session ended; sign in again');
      return setSession(reply, issued, Date.now());
    },
  );

  app.post(
    '/api/v1/auth/totp',
    {
      config: { access: { account: true } },
      schema: {
        summary:
          'Begin TOTP enrolment: a new secret and its otpauth:// URI for a QR code; replacing a factor needs {currentPassword}',
        security: session,
        response: { 200: Type.Object({ secret: Type.String(), otpauthUri: Type.String() }) },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const { secret, uri } = await withRetryAfter(reply, () =>
        enrolment.beginTotp(userOf(request), currentPasswordOf(request.body), request.ip),
      );
      return { secret, otpauthUri: uri };
    },
  );

  app.post(
    '/api/v1/auth/totp/confirm',
    {
      config: { access: { account: true } },
      schema: {
        summary: 'Confirm TOTP enrolment with a code; answers with recovery codes, shown once',
        security: session,
        body: Type.Object({ code: Type.String({ maxLength: 16 }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            recoveryCodes: Type.Array(Type.String()),
            stage: Type.String(),
            csrfToken: Type.Optional(Type.String()),
            expiresAt: Type.Optional(Type.String()),
          }),
        },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const who = userOf(request);
      const { recoveryCodes, session: fresh } = await enrolment.confirmTotp(
        who,
        request.body.code,
        request.ip,
      );
      if (!fresh) return { recoveryCodes, stage: who.stage };
      return { recoveryCodes, ...setSession(reply, fresh, Date.now()) };
    },
  );

  app.post(
    '/api/v1/auth/recovery-codes',
    {
      config: { access: { account: true } },
      schema: {
        summary: 'Replace all recovery codes with ten new ones, shown once; needs {currentPassword}',
        security: session,
        response: { 200: Type.Object({ recoveryCodes: Type.Array(Type.String()) }) },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const who = userOf(request);
      if (who.stage !== 'full')
        throw new VigilError(
          'VIGIL_ERR_AUTH_SETUP_REQUIRED',
          'finish account setup before replacing recovery codes',
        );
      const password = currentPasswordOf(request.body);
      return {
        recoveryCodes: await withRetryAfter(reply, () =>
          enrolment.regenerateRecoveryCodes(who, password, request.ip),
        ),
      };
    },
  );
}
