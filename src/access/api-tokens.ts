import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { VigilError } from '../errors/catalogue.ts';
import type { Schema } from '../store/schema.ts';
import { can, isRole, PERMISSIONS, type Permission, ROLE_PERMISSIONS, ROLES, type Role } from './roles.ts';

export interface TokenIdentity {
  kind: 'token';
  tokenId: string;
  name: string;
  role: Role;
  /** The audit actor: `token:<name>`. */
  actor: string;
  /** Permissions the token is narrowed to; undefined: all of its role's. */
  scopes: readonly Permission[] | undefined;
}

export interface TokenSummary {
  id: string;
  name: string;
  role: Role;
  scopes: Permission[] | null;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

/** Reads stored scopes (a JSON array); anything unreadable narrows to nothing, never widens. */
export function parseScopes(stored: string | null): Permission[] | undefined {
  if (stored === null) return undefined;
  try {
    const value: unknown = JSON.parse(stored);
    if (!Array.isArray(value)) return [];
    return value.filter((p): p is Permission => (PERMISSIONS as readonly unknown[]).includes(p));
  } catch {
    return [];
  }
}

/** What a token may do: its role's permissions, narrowed to its scopes when it has any. */
export function tokenPermissions(role: Role, scopes: readonly string[] | undefined): Permission[] {
  const ofRole = [...ROLE_PERMISSIONS[role]];
  return scopes === undefined ? ofRole : ofRole.filter((p) => scopes.includes(p));
}

const TOKEN_PATTERN = /^vgl_([a-f0-9]{16})\.([A-Za-z0-9_-]{43})$/;
const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** Parses a duration such as 30m, 12h, 7d; refuses anything else. */
export function parseTtl(text: string): number {
  const m = /^(\d{1,6})([smhd])$/.exec(text);
  if (!m)
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `--ttl ${text.slice(0, 20)} is not a duration; use e.g. 30m, 12h or 90d`,
    );
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
  const seconds = Number(m[1]) * unit;
  if (seconds < 60 || seconds > 366 * 86400) {
    throw new VigilError('VIGIL_ERR_REQUEST_INVALID', `--ttl ${text} is out of range; use 1m to 366d`);
  }
  return seconds;
}

/** Throws VIGIL_ERR_USER_EXISTS (409) when a new token may not take this name (see createUnique). */
export async function requireFreeTokenName(db: Kysely<Schema>, name: string, nowMs: number): Promise<void> {
  const live = await db
    .selectFrom('api_tokens')
    .select('id')
    .where('name', '=', name)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', nowMs)
    .executeTakeFirst();
  if (live)
    throw new VigilError(
      'VIGIL_ERR_USER_EXISTS',
      `an API token named "${name.slice(0, 100)}" is already in use (id ${live.id}); choose another name, or revoke that token first`,
    );
}

/** Bearer tokens for integrations: random, expiring, revocable, stored only as a hash. */
export class ApiTokens {
  constructor(private readonly db: Kysely<Schema>) {}

  async create(
    input: { role: string; name: string; ttlSeconds: number; scopes?: readonly string[] | undefined },
    nowMs = Date.now(),
  ): Promise<{ token: string; id: string; expiresAt: number }> {
    if (!isRole(input.role)) {
      throw new VigilError(
        'VIGIL_ERR_REQUEST_INVALID',
        `role "${input.role.slice(0, 32)}" is unknown; use one of ${ROLES.join(', ')}`,
      );
    }
    const role = input.role;
    for (const scope of input.scopes ?? []) {
      if (!(PERMISSIONS as readonly string[]).includes(scope) || !can(role, scope as Permission)) {
        throw new VigilError(
          'VIGIL_ERR_REQUEST_INVALID',
          `scope "${scope.slice(0, 40)}" is not a permission of role ${role}; a scope can only narrow the role`,
        );
      }
    }
    if (input.name.trim() === '' || input.name.length > 100) {
      throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'token name must be 1-100 characters');
    }
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const expiresAt = nowMs + input.ttlSeconds * 1000;
    await this.db
      .insertInto('api_tokens')
      .values({
        id,
        name: input.name,
        role: input.role,
        secret_hash: hashSecret(secret),
        created_at: nowMs,
        expires_at: expiresAt,
        revoked_at: null,
        scopes: input.scopes === undefined ? null : JSON.stringify([...new Set(input.scopes)]),
      })
      .execute();
    return { token: `vgl_${id}.${secret}`, id, expiresAt };
  }

  /**
   * As create, for a person asking (the API, `vigil token create`): refused when the name is held
   * by an unrevoked, unexpired token. A token's name is its audit actor (`token:<name>`) and its
   * care-team membership (access-facts.ts matches members by name): a second live token of that
   * name would read the first one's patients, and the trail could not tell the two apart. A
   * token may share a user's name (the tour's clinician token reads as that clinician); through
   * the API no token that reads patients can be minted at all (token-routes.ts).
   */
  async createUnique(
    input: { role: string; name: string; ttlSeconds: number; scopes?: readonly string[] | undefined },
    nowMs = Date.now(),
  ): Promise<{ token: string; id: string; expiresAt: number }> {
    // One transaction: on SQLite (one connection, writes serialised) no second create of the
    // name slips in between the check and the insert.
    return this.db.transaction().execute(async (trx) => {
      await requireFreeTokenName(trx, input.name, nowMs);
      return new ApiTokens(trx).create(input, nowMs);
    });
  }

  /** Revokes a token; false when no unrevoked token has this id. */
  async revoke(id: string, nowMs = Date.now()): Promise<boolean> {
    const r = await this.db
      .updateTable('api_tokens')
      .set({ revoked_at: nowMs })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Every token, newest first, without any secret (only hashes are stored anyway). */
  async list(): Promise<TokenSummary[]> {
    const rows = await this.db.selectFrom('api_tokens').selectAll().orderBy('created_at', 'desc').execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      role: isRole(r.role) ? r.role : 'patient',
      scopes: parseScopes(r.scopes) ?? null,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      revokedAt: r.revoked_at,
    }));
  }

  /**
   * Checks a presented token against its row, read afresh every time: a token revoked by another
   * process (`vigil token revoke` during an incident) is refused from the next request on. One
   * primary-key read per API request; the readings' hot path does not pass here.
   */
  async verify(token: string, nowMs = Date.now()): Promise<TokenIdentity> {
    const m = TOKEN_PATTERN.exec(token);
    if (!m)
      throw new VigilError(
        'VIGIL_ERR_AUTH_REQUIRED',
        'the bearer token is malformed; create one with "vigil token create"',
      );
    const [, id, secret] = m as unknown as [string, string, string];
    // Unknown, wrong, expired and revoked read alike: the holder of a stolen token learns
    // neither that a token id exists nor that its theft was noticed and the token revoked.
    const notValid = () =>
      new VigilError(
        'VIGIL_ERR_AUTH_REQUIRED',
        'the bearer token is not valid (unknown, expired or revoked); ask an administrator for a new one or create one with "vigil token create"',
      );
    const row = await this.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notValid();
    const presented = Buffer.from(hashSecret(secret), 'hex');
    const stored = Buffer.from(row.secret_hash, 'hex');
    if (presented.length !== stored.length || !timingSafeEqual(presented, stored)) throw notValid();
    if (row.revoked_at !== null || row.expires_at <= nowMs) throw notValid();
    if (!isRole(row.role))
      throw new VigilError('VIGIL_ERR_AUTH_FORBIDDEN', 'the token carries an unknown role');
    return {
      kind: 'token',
      tokenId: row.id,
      name: row.name,
      role: row.role,
      actor: `token:${row.name}`,
      scopes: parseScopes(row.scopes),
    };
  }
}
