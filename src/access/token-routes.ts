import { Type } from '@sinclair/typebox';
import type { AuditInput } from '../audit/audit-log.ts';
import { VigilError } from '../errors/catalogue.ts';
import { type App, actorOf } from '../server/http.ts';
import { patientReadFooting } from './access-facts.ts';
import { type ApiTokens, parseTtl, tokenPermissions } from './api-tokens.ts';
import { PERMISSIONS, type Permission, ROLE_PERMISSIONS, ROLES, type Role } from './roles.ts';
import type { Identity } from './session-guard.ts';

export interface TokenRouteDeps {
  tokens: ApiTokens;
  audit: { append(input: AuditInput): Promise<void> };
}

const security = [{ bearer: [] }, { sessionCookie: [] }];
const TokenView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.String(),
  scopes: Type.Union([Type.Array(Type.String()), Type.Null()]),
  createdAt: Type.String(),
  expiresAt: Type.String(),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Why the creator may not mint this token through the API, or undefined when they may. Nobody
 * grants what they do not hold: every permission the token would carry (its role after its
 * scopes) must be the creator's own, and its role must read patients on no other footing than
 * the creator's (patientReadFooting): the gate opens patients by role as well as by permission,
 * so an administrator's `patients:read` in an integration token would read records an
 * administrator may not. The operator console (`vigil token create`) is not bound by this: it
 * runs on the server with the master key, which reads everything anyway.
 */
export function mintRefusal(
  creator: Identity,
  role: Role,
  scopes: readonly Permission[] | undefined,
): string | undefined {
  const held: ReadonlySet<Permission> =
    creator.kind === 'token'
      ? new Set(tokenPermissions(creator.role, creator.scopes))
      : ROLE_PERMISSIONS[creator.role];
  const carried = tokenPermissions(role, scopes);
  const beyond = carried.filter((p) => !held.has(p));
  const footing = patientReadFooting(role);
  const readsOtherPatients = footing !== 'none' && footing !== patientReadFooting(creator.role);
  if (beyond.length === 0 && !readsOtherPatients) return undefined;
  const why =
    beyond.length > 0
      ? `would carry ${beyond.join(', ')}, which ${creator.actor} does not hold`
      : `would read patients through ${footing === 'care-team' ? 'care teams' : 'consent alone'}, which ${creator.actor} may not`;
  return `a ${role} token${scopes ? ` scoped to ${scopes.join(', ')}` : ''} ${why}; a token can only carry what its creator holds: narrow it with scopes you hold, ask someone who holds them, or have an operator run "vigil token create --role ${role}" on the server`;
}

/** API tokens for integrations: scoped, expiring, revocable; the secret is shown once at creation. */
export function registerTokenRoutes(app: App, deps: TokenRouteDeps): void {
  app.get(
    '/api/v1/tokens',
    {
      config: { access: { permission: 'tokens:read' } },
      schema: {
        summary: 'List API tokens (never their secrets)',
        security,
        response: { 200: Type.Object({ tokens: Type.Array(TokenView) }) },
      },
    },
    async () => ({
      tokens: (await deps.tokens.list()).map((t) => ({
        ...t,
        createdAt: iso(t.createdAt),
        expiresAt: iso(t.expiresAt),
        revokedAt: t.revokedAt === null ? null : iso(t.revokedAt),
      })),
    }),
  );

  app.post(
    '/api/v1/tokens',
    {
      config: { access: { permission: 'tokens:write' } },
      schema: {
        summary: 'Create an API token; scopes narrow the role to some of its permissions',
        security,
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 100 }),
            role: Type.Union(ROLES.map((r) => Type.Literal(r))),
            ttl: Type.String({ maxLength: 10, description: 'e.g. 30m, 12h, 90d (1m to 366d)' }),
            scopes: Type.Optional(
              Type.Array(Type.Union(PERMISSIONS.map((p) => Type.Literal(p))), {
                minItems: 1,
                maxItems: PERMISSIONS.length,
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ id: Type.String(), token: Type.String(), expiresAt: Type.String() }) },
      },
    },
    async (request, reply) => {
      const { name, role, ttl, scopes } = request.body;
      const identity = request.identity;
      if (!identity) throw new VigilError('VIGIL_ERR_AUTH_REQUIRED', 'sign in first');
      const refusal = mintRefusal(identity, role, scopes);
      if (refusal !== undefined) {
        await deps.audit.append({
          actor: actorOf(request),
          action: `token.create.${role}`,
          resource: 'ApiToken',
          outcome: 'denied',
          source: request.ip,
        });
        throw new VigilError('VIGIL_ERR_AUTH_FORBIDDEN', refusal);
      }
      const created = await deps.tokens.createUnique({ name, role, ttlSeconds: parseTtl(ttl), scopes });
      await deps.audit.append({
        actor: actorOf(request),
        action: `token.create.${role}`,
        resource: `ApiToken/${created.id}`,
        outcome: 'success',
        source: request.ip,
      });
      void reply.header('cache-control', 'no-store');
      return reply
        .code(201)
        .send({ id: created.id, token: created.token, expiresAt: iso(created.expiresAt) });
    },
  );

  app.delete(
    '/api/v1/tokens/:id',
    {
      config: { access: { permission: 'tokens:revoke' } },
      schema: {
        summary: 'Revoke an API token at once',
        security,
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (!(await deps.tokens.revoke(id)))
        throw new VigilError('VIGIL_ERR_NOT_FOUND', `no unrevoked token ${id.slice(0, 64)}`);
      await deps.audit.append({
        actor: actorOf(request),
        action: 'token.revoke',
        resource: `ApiToken/${id}`,
        outcome: 'success',
        source: request.ip,
      });
      return reply.code(204).send();
    },
  );
}
