import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditInput } from '../audit/audit-log.ts';
import { VigilError } from '../errors/catalogue.ts';
import { type App, actorOf } from '../server/http.ts';
import type { SessionStreams } from './auth-routes.ts';
import { ROLES } from './roles.ts';
import type { SessionStore } from './sessions.ts';
import { newOneTimePassword, type User, type UserStore } from './users.store.ts';

export interface UserRouteDeps {
  users: UserStore;
  sessions: SessionStore;
  audit: { append(input: AuditInput): Promise<void> };
  /** Their live streams end with their sessions, not at the next 30 s re-check. */
  streams: SessionStreams;
}

const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));
const UserId = Type.String({ pattern: '^usr-[a-f0-9]{16}$' });
const UserView = Type.Object({
  id: Type.String(),
  username: Type.String(),
  role: Type.String(),
  mustChangePassword: Type.Boolean(),
  totpEnrolled: Type.Boolean(),
  disabled: Type.Boolean(),
  createdAt: Type.String(),
  passwordChangedAt: Type.String(),
  email: Type.Optional(Type.String()),
});
const Email = Type.String({ minLength: 3, maxLength: 254 });
const security = [{ bearer: [] }, { sessionCookie: [] }];

const view = (u: User) => ({
  id: u.id,
  username: u.username,
  role: u.role,
  mustChangePassword: u.mustChangePassword,
  totpEnrolled: u.hasTotp,
  disabled: u.disabledAt !== null,
  createdAt: new Date(u.createdAt).toISOString(),
  passwordChangedAt: new Date(u.passwordChangedAt).toISOString(),
  ...(u.email === null ? {} : { email: u.email }),
});

const noStore = (reply: FastifyReply) => void reply.header('cache-control', 'no-store');

/** User administration (admins; security officers may look). Every change is audited. */
export function registerUserRoutes(app: App, deps: UserRouteDeps): void {
  const { users, sessions } = deps;
  const audit = (request: FastifyRequest, action: string, userId: string) =>
    deps.audit.append({
      actor: actorOf(request),
      action,
      resource: `User/${userId}`,
      outcome: 'success',
      source: request.ip,
    });
  const load = async (id: string) => {
    const user = await users.findById(id);
    if (!user) throw new VigilError('VIGIL_ERR_USER_UNKNOWN', `no user ${id}`);
    return user;
  };
  /** An administrator changing their own role or access could lock everyone out; another admin does it. */
  const refuseSelf = (request: FastifyRequest, id: string) => {
    const who = request.identity;
    if (who?.kind === 'user' && who.userId === id)
      throw new VigilError(
        'VIGIL_ERR_AUTH_FORBIDDEN',
        'change your own account under /api/v1/auth; another administrator changes its role',
      );
  };

  app.get(
    '/api/v1/users',
    {
      config: { access: { permission: 'users:read' } },
      schema: {
        summary: 'List users',
        security,
        response: { 200: Type.Object({ users: Type.Array(UserView) }) },
      },
    },
    async () => ({ users: (await users.list()).map(view) }),
  );

  app.post(
    '/api/v1/users',
    {
      config: { access: { permission: 'users:write' } },
      schema: {
        summary: 'Add a user with a one-time password (shown once) to change at first sign-in',
        security,
        body: Type.Object(
          { username: Type.String({ maxLength: 64 }), role: RoleSchema, email: Type.Optional(Email) },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ user: UserView, oneTimePassword: Type.String() }) },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const { user, oneTimePassword } = await users.create({
        username: request.body.username,
        role: request.body.role,
        ...(request.body.email === undefined ? {} : { email: request.body.email }),
      });
      await audit(request, `user.create.${user.role}`, user.id);
      return reply.code(201).send({ user: view(user), oneTimePassword: oneTimePassword ?? '' });
    },
  );

  app.patch(
    '/api/v1/users/:id',
    {
      config: { access: { permission: 'users:write' } },
      schema: {
        summary: "Change a user's role or e-mail address (null clears it), or disable or enable the account",
        security,
        params: Type.Object({ id: UserId }),
        body: Type.Object(
          {
            role: Type.Optional(RoleSchema),
            disabled: Type.Optional(Type.Boolean()),
            email: Type.Optional(Type.Union([Email, Type.Null()])),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: UserView },
      },
    },
    async (request) => {
      const user = await load(request.params.id);
      refuseSelf(request, user.id);
      const { role, disabled, email } = request.body;
      if (email !== undefined && email !== user.email) {
        await users.setEmail(user.id, email);
        await audit(request, email === null ? 'user.email.clear' : 'user.email.set', user.id);
      }
      if (role !== undefined && role !== user.role) {
        await users.setRole(user.id, role);
        // An open stream would keep the topics and patients of the old role until its re-check.
        deps.streams.endUserStreams(user.id, 'your role changed; reconnect to stream what it allows');
        await audit(request, `user.role.${user.role}-to-${role}`, user.id);
      }
      if (disabled !== undefined && disabled !== (user.disabledAt !== null)) {
        await users.setDisabled(user.id, disabled);
        if (disabled) {
          await sessions.endAllForUser(user.id);
          deps.streams.endUserStreams(user.id, 'this account was disabled');
        }
        await audit(request, disabled ? 'user.disable' : 'user.enable', user.id);
      }
      return view(await load(user.id));
    },
  );

  app.post(
    '/api/v1/users/:id/reset-password',
    {
      config: { access: { permission: 'users:write' } },
      schema: {
        summary: 'Give a user a new one-time password (shown once); ends their sessions',
        security,
        params: Type.Object({ id: UserId }),
        response: { 200: Type.Object({ oneTimePassword: Type.String() }) },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const user = await load(request.params.id);
      refuseSelf(request, user.id);
      const oneTimePassword = newOneTimePassword();
      await users.setPassword(user.id, oneTimePassword, { oneTime: true });
      await sessions.endAllForUser(user.id);
      deps.streams.endUserStreams(user.id, 'an administrator reset the password; sign in again');
      await audit(request, 'user.password.reset', user.id);
      return { oneTimePassword };
    },
  );

  app.post(
    '/api/v1/users/:id/reset-mfa',
    {
      config: { access: { permission: 'users:write' } },
      schema: {
        summary:
          "Remove a user's second factors (lost device) and give a one-time password; they enrol again at sign-in",
        security,
        params: Type.Object({ id: UserId }),
        response: { 200: Type.Object({ oneTimePassword: Type.String() }) },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const user = await load(request.params.id);
      refuseSelf(request, user.id);
      // Without a second factor a password alone opens enrolment, so the password is replaced too.
      const oneTimePassword = newOneTimePassword();
      await users.clearSecondFactors(user.id);
      await users.setPassword(user.id, oneTimePassword, { oneTime: true });
      await sessions.endAllForUser(user.id);
      deps.streams.endUserStreams(user.id, 'an administrator reset the second factors; sign in again');
      await audit(request, 'user.mfa.reset', user.id);
      return { oneTimePassword };
    },
  );
}
