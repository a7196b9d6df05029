import { Type } from '@sinclair/typebox';
import type { AuditInput } from '../audit/audit-log.ts';
import { VigilError } from '../errors/catalogue.ts';
import { type App, actorOf } from '../server/http.ts';
import { type ApiTokens, parseTtl } from './api-tokens.ts';
import { PERMISSIONS, ROLES } from './roles.ts';

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
      const created = await deps.tokens.create({ name, role, ttlSeconds: parseTtl(ttl), scopes });
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
