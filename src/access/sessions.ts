import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Schema } from '../store/schema.ts';

/**
 * Server-side sessions. A session id is 256 random bits given to the browser once; the store
 * keeps only its SHA-256, so a copy of the database opens no session. Stages:
 * - `mfa`: the password was right; the id is the sign-in ticket for the second factor, never a cookie;
 * - `setup`: a one-time password was used or no second factor is enrolled yet; only the account
 *   routes (change password, enrol TOTP) are open;
 * - `full`: everything the user's role allows.
 * Every change of stage issues a new id (no fixation), and every session has an idle and an
 * absolute timeout (NIST SP 800-63B §7.2: reauthenticate at least every 12 hours at AAL2, and
 * after 30 minutes of inactivity).
 */
export type SessionStage = 'mfa' | 'setup' | 'full';

export interface SessionTimeouts {
  idleMs: number;
  absoluteMs: number;
  ticketMs: number;
}

export const DEFAULT_TIMEOUTS: SessionTimeouts = {
  idleMs: 30 * 60_000,
  absoluteMs: 12 * 3_600_000,
  ticketMs: 5 * 60_000,
};

/** Touching last_seen_at on every request would write per request; once a minute is enough. */
const TOUCH_EVERY_MS = 60_000;

/** A session handed to a browser: the id for the cookie, and its CSRF token. */
export interface IssuedSession {
  id: string;
  csrfToken: string;
  expiresAt: number;
  stage: Exclude<SessionStage, 'mfa'>;
}

export interface Session {
  idHash: string;
  userId: string;
  stage: SessionStage;
  createdAt: number;
  expiresAt: number;
  failedCodes: number;
}

export const hashSessionId = (id: string) => createHash('sha256').update(`session|${id}`).digest('hex');
/**
 * The CSRF token is an HMAC keyed by the session id: only someone holding the cookie can
 * compute it, the server can give it again after a page reload, and nothing extra is stored.
 */
export const csrfTokenFor = (sessionId: string) =>
  createHmac('sha256', sessionId).update('vigil-csrf-v1').digest('base64url');

/** Constant-time check of a presented CSRF token against the session's. */
export function csrfMatches(sessionId: string, token: string | undefined): boolean {
  if (!token) return false;
  const a = Buffer.from(csrfTokenFor(sessionId));
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

const newSecret = () => randomBytes(32).toString('base64url');

export class SessionStore {
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly now: () => number = Date.now,
    readonly timeouts: SessionTimeouts = DEFAULT_TIMEOUTS,
  ) {}

  async create(
    userId: string,
    stage: SessionStage,
    address: string | undefined,
  ): Promise<{ id: string; csrfToken: string; expiresAt: number }> {
    const id = newSecret();
    const now = this.now();
    const expiresAt = now + (stage === 'mfa' ? this.timeouts.ticketMs : this.timeouts.absoluteMs);
    await this.db
      .insertInto('sessions')
      .values({
        id_hash: hashSessionId(id),
        user_id: userId,
        stage,
        created_at: now,
        last_seen_at: now,
        expires_at: expiresAt,
        address: address ?? null,
        failed_codes: 0,
      })
      .execute();
    return { id, csrfToken: csrfTokenFor(id), expiresAt };
  }

  /** A new cookie session for a user (never a reused id: this is what defeats fixation). */
  async issue(
    userId: string,
    stage: IssuedSession['stage'],
    address: string | undefined,
  ): Promise<IssuedSession> {
    return { ...(await this.create(userId, stage, address)), stage };
  }

  /**
   * The live session for an id, or undefined (unknown, idle too long, or past its absolute end).
   * `touch: false` checks without counting as activity (the live stream's periodic re-check must
   * not keep an unattended session from idling out).
   */
  async find(id: string, opts: { touch?: boolean } = {}): Promise<Session | undefined> {
    const idHash = hashSessionId(id);
    const row = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('id_hash', '=', idHash)
      .executeTakeFirst();
    if (!row) return undefined;
    const now = this.now();
    const idleMs = row.stage === 'mfa' ? this.timeouts.ticketMs : this.timeouts.idleMs;
    if (now >= row.expires_at || now - row.last_seen_at >= idleMs) {
      await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
      return undefined;
    }
    if (opts.touch !== false && now - row.last_seen_at >= TOUCH_EVERY_MS) {
      await this.db
        .updateTable('sessions')
        .set({ last_seen_at: now })
        .where('id_hash', '=', idHash)
        .execute();
    }
    return {
      idHash,
      userId: row.user_id,
      stage: row.stage as SessionStage,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      failedCodes: row.failed_codes,
    };
  }

  /** Counts a wrong second factor on a ticket; returns the new count. */
  async countFailedCode(idHash: string): Promise<number> {
    await this.db
      .updateTable('sessions')
      .set((eb) => ({ failed_codes: eb('failed_codes', '+', 1) }))
      .where('id_hash', '=', idHash)
      .execute();
    const row = await this.db
      .selectFrom('sessions')
      .select('failed_codes')
      .where('id_hash', '=', idHash)
      .executeTakeFirst();
    return row?.failed_codes ?? Number.POSITIVE_INFINITY;
  }

  /** Keeps the WebAuthn challenge issued to this ticket or session. */
  async setChallenge(idHash: string, challenge: string): Promise<void> {
    await this.db.updateTable('sessions').set({ challenge }).where('id_hash', '=', idHash).execute();
  }

  /** Returns the outstanding challenge and forgets it, so each is answered at most once. */
  async takeChallenge(idHash: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('sessions')
      .select('challenge')
      .where('id_hash', '=', idHash)
      .executeTakeFirst();
    if (row?.challenge)
      await this.db.updateTable('sessions').set({ challenge: null }).where('id_hash', '=', idHash).execute();
    return row?.challenge ?? undefined;
  }

  async end(idHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
  }

  /** Ends every session of a user (password change, reset, disabling); returns how many. */
  async endAllForUser(userId: string, exceptIdHash?: string): Promise<number> {
    let q = this.db.deleteFrom('sessions').where('user_id', '=', userId);
    if (exceptIdHash) q = q.where('id_hash', '!=', exceptIdHash);
    const r = await q.executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Removes sessions past their absolute end, so the table does not grow without bound. */
  async sweep(): Promise<void> {
    await this.db.deleteFrom('sessions').where('expires_at', '<=', this.now()).execute();
  }
}
