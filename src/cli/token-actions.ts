/**
 * What `vigil token list / revoke` do: the same as GET /api/v1/tokens and DELETE
 * /api/v1/tokens/{id}, through the same store (access/api-tokens.ts), for an operator at the
 * console whose admin token leaked or who has none.
 */
import { ApiTokens, type TokenSummary } from '../access/api-tokens.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { VigilError } from '../errors/catalogue.ts';
import { type CommonFlags, cliActor } from './context.ts';
import { openLocal } from './open-local.ts';
import { emit, minuteUtc, table } from './output.ts';
import { tokenIdFrom } from './token-id.ts';

export type TokenIdFlags = CommonFlags & { id: string };

const iso = (ms: number) => new Date(ms).toISOString();

/** How long a running server may still accept a revoked token: ApiTokens.verify rereads a row after 5 s. */
const SERVER_CACHE_SECONDS = 5;

function statusOf(t: TokenSummary, nowMs: number): 'revoked' | 'expired' | 'active' {
  if (t.revokedAt !== null) return 'revoked';
  return t.expiresAt <= nowMs ? 'expired' : 'active';
}

async function withTokens<T>(
  flags: CommonFlags,
  job: (t: ApiTokens, audit: AuditLog) => Promise<T>,
): Promise<T> {
  const { store } = await openLocal(flags);
  try {
    return await job(new ApiTokens(store.db), new AuditLog(store.db));
  } finally {
    await store.close();
  }
}

/** Every token, newest first, never a secret (only their hashes are stored). */
export async function tokenList(o: CommonFlags): Promise<void> {
  await withTokens(o, async (tokens) => {
    const all = await tokens.list();
    const nowMs = Date.now();
    // The API's view (GET /api/v1/tokens), with the status the table shows.
    const views = all.map((t) => ({
      id: t.id,
      name: t.name,
      role: t.role,
      scopes: t.scopes,
      createdAt: iso(t.createdAt),
      expiresAt: iso(t.expiresAt),
      revokedAt: t.revokedAt === null ? null : iso(t.revokedAt),
      status: statusOf(t, nowMs),
    }));
    emit(
      o,
      { tokens: views },
      all.length === 0
        ? ['no API tokens; create one with "vigil token create"']
        : table(
            ['ID', 'NAME', 'ROLE', 'SCOPES', 'STATUS', 'CREATED', 'EXPIRES', 'REVOKED'],
            all.map((t) => [
              t.id,
              t.name,
              t.role,
              t.scopes === null ? `all of ${t.role}` : t.scopes.join(','),
              statusOf(t, nowMs),
              minuteUtc(t.createdAt),
              minuteUtc(t.expiresAt),
              minuteUtc(t.revokedAt),
            ]),
          ),
    );
  });
}

/**
 * As DELETE /api/v1/tokens/{id}: revoked and audited as `token.revoke`. A token revoked before
 * is refused as the route refuses it (404, here a non-zero exit), saying so.
 */
export async function tokenRevoke(o: TokenIdFlags): Promise<void> {
  const id = tokenIdFrom(o.id);
  await withTokens(o, async (tokens, audit) => {
    if (!(await tokens.revoke(id))) {
      const known = (await tokens.list()).find((t) => t.id === id);
      throw new VigilError(
        'VIGIL_ERR_NOT_FOUND',
        known?.revokedAt == null
          ? `no API token ${id}; "vigil token list" shows the ids`
          : `API token ${id} (${known.name}) was revoked already, at ${iso(known.revokedAt)}; nothing changed`,
      );
    }
    await audit.append({
      actor: cliActor(),
      action: 'token.revoke',
      resource: `ApiToken/${id}`,
      outcome: 'success',
      source: 'cli',
    });
    const t = (await tokens.list()).find((x) => x.id === id);
    emit(o, { id: id, name: t?.name ?? null, role: t?.role ?? null, revoked: true }, [
      `API token ${id}${t ? ` (${t.name}, ${t.role})` : ''} revoked`,
      `a running Vigil server refuses it within ${SERVER_CACHE_SECONDS} seconds`,
    ]);
  });
}
