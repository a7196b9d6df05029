import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { Type } from '@sinclair/typebox';
import { VigilError } from '../errors/catalogue.ts';
import type { App } from '../server/http.ts';
import {
  currentPasswordOf,
  finishSignIn,
  noStore,
  setSession,
  userOf,
  withRetryAfter,
} from './auth-routes.ts';
import type { AuthService } from './auth-service.ts';
import type { Enrolment } from './enrolment.ts';
import type { Passkeys } from './passkeys.ts';
import type { SessionStore } from './sessions.ts';

export interface PasskeyRouteDeps {
  auth: AuthService;
  enrolment: Enrolment;
  passkeys: Passkeys;
  sessions: SessionStore;
}

const SessionId = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' });
/** The browser's PublicKeyCredential as JSON; @simplewebauthn/server checks every field of it. */
const Credential = Type.Object(
  { id: Type.String({ maxLength: 1024 }), type: Type.Literal('public-key'), response: Type.Object({}) },
  { additionalProperties: true },
);
const session = [{ sessionCookie: [] }];

/** The WebAuthn ceremonies: signing in with a passkey as second factor, and managing passkeys. */
export function registerPasskeyRoutes(app: App, deps: PasskeyRouteDeps): void {
  const { auth, enrolment, passkeys } = deps;

  app.post(
    '/api/v1/auth/webauthn/options',
    {
      config: { access: { public: true } },
      schema: {
        summary: 'WebAuthn request options for a sign-in ticket (navigator.credentials.get)',
        body: Type.Object({ ticket: SessionId }, { additionalProperties: false }),
      },
    },
    async (request, reply) => {
      noStore(reply);
      return auth.passkeyOptionsForTicket(request.body.ticket);
    },
  );

  app.post(
    '/api/v1/auth/webauthn',
    {
      config: { access: { public: true } },
      schema: {
        summary: 'Complete sign-in with a passkey assertion; sets the session cookie',
        body: Type.Object({ ticket: SessionId, credential: Credential }, { additionalProperties: false }),
      },
    },
    async (request, reply) => {
      noStore(reply);
      const origin = passkeys.expectedOrigin(request.headers.host);
      const response = request.body.credential as unknown as AuthenticationResponseJSON;
      const issued = await withRetryAfter(reply, () =>
        auth.completeMfa(request.body.ticket, { passkey: { response, origin } }, request.ip),
      );
      return finishSignIn(deps.sessions, request, reply, issued);
    },
  );

  app.get(
    '/api/v1/auth/passkeys',
    {
      config: { access: { account: true } },
      schema: { summary: "The signed-in user's passkeys", security: session },
    },
    async (request) => {
      const list = await passkeys.list(userOf(request).userId);
      return {
        passkeys: list.map((p) => ({
          id: p.id,
          name: p.name,
          createdAt: new Date(p.createdAt).toISOString(),
          lastUsedAt: p.lastUsedAt === null ? null : new Date(p.lastUsedAt).toISOString(),
        })),
      };
    },
  );

  app.post(
    '/api/v1/auth/passkeys/options',
    {
      config: { access: { account: true } },
      schema: {
        summary:
          'WebAuthn creation options to register a passkey (navigator.credentials.create); a further factor needs {currentPassword}',
        security: session,
      },
    },
    async (request, reply) => {
      noStore(reply);
      return withRetryAfter(reply, () =>
        enrolment.beginPasskey(userOf(request), currentPasswordOf(request.body), request.ip),
      );
    },
  );

  app.post(
    '/api/v1/auth/passkeys',
    {
      config: { access: { account: true } },
      schema: {
        summary:
          'Register a passkey from the attestation; the first second factor also brings recovery codes',
        security: session,
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 100 }), credential: Credential },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      noStore(reply);
      const who = userOf(request);
      const origin = passkeys.expectedOrigin(request.headers.host);
      const response = request.body.credential as unknown as RegistrationResponseJSON;
      const r = await enrolment.finishPasskey(who, response, origin, request.body.name, request.ip);
      return reply.code(201).send({
        id: r.passkey.id,
        name: r.passkey.name,
        ...(r.recoveryCodes ? { recoveryCodes: r.recoveryCodes } : {}),
        ...(r.session ? setSession(reply, r.session, Date.now()) : { stage: who.stage }),
      });
    },
  );

  app.delete(
    '/api/v1/auth/passkeys/:id',
    {
      config: { access: { account: true } },
      schema: {
        summary: 'Remove one of your passkeys; needs {currentPassword}',
        security: session,
        params: Type.Object({ id: Type.String({ maxLength: 1024 }) }),
      },
    },
    async (request, reply) => {
      const who = userOf(request);
      if (who.stage !== 'full')
        throw new VigilError('VIGIL_ERR_AUTH_SETUP_REQUIRED', 'finish account setup first');
      const password = currentPasswordOf(request.body);
      const isRemoved = await withRetryAfter(reply, () =>
        enrolment.removePasskey(who, request.params.id, password, request.ip),
      );
      if (!isRemoved) throw new VigilError('VIGIL_ERR_NOT_FOUND', 'no passkey of yours has this id');
      return reply.code(204).send();
    },
  );
}
