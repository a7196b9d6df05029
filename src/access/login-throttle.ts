import type { Kysely, Transaction } from 'kysely';
import { sourceNetworkOf } from '../server/source-network.ts';
import type { Schema } from '../store/schema.ts';

/**
 * Sign-in throttling per account and per source address (NIST SP 800-63B §5.2.2): a few free
 * failures, then each further failure locks the key for a delay that doubles up to a cap, so
 * online guessing gets a handful of tries per hour. Account keys are the typed username, not
 * the user id, so an unknown username is throttled exactly like a real one and the answers
 * reveal nothing. Addresses get more free failures, since a clinic may sit behind one NAT.
 */
export interface ThrottlePolicy {
  accountFreeFailures: number;
  addressFreeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A key with no failure for this long starts again from zero. */
  forgetAfterMs: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = {
  accountFreeFailures: 5,
  addressFreeFailures: 20,
  baseDelayMs: 30_000,
  maxDelayMs: 3_600_000,
  forgetAfterMs: 86_400_000,
};

export const accountKey = (username: string) => `account:${username.normalize('NFKC').toLowerCase()}`;
/**
 * An IPv6 client is counted by its /64: it may send from any of 2^64 addresses in it, so per
 * address it would never meet its limit (see sourceNetworkOf).
 */
export const addressKey = (address: string) => `address:${sourceNetworkOf(address)}`;

/** The delay after `failures` failures when `free` are allowed: 0, then base, 2×base, … up to max. */
export function lockDelayMs(failures: number, free: number, policy: ThrottlePolicy): number {
  if (failures < free) return 0;
  const doublings = Math.min(failures - free, 30);
  return Math.min(policy.baseDelayMs * 2 ** doublings, policy.maxDelayMs);
}

type AttemptRow = Schema['login_attempts'];

/** One attempt counted before it was judged: enough to take it back if it turns out right. */
export interface AttemptClaim {
  claimedAt: number;
  keys: Array<{ key: string; before: Omit<AttemptRow, 'key'>; failures: number }>;
  /** The keys this attempt locks if it fails; audited as lockouts then. */
  locks: Array<{ key: string; failures: number; lockedForMs: number }>;
}

export type ClaimResult = { claim: AttemptClaim } | { lockedForMs: number };

/** How often the table is swept of keys whose failures are forgotten and whose lock is over. */
const SWEEP_EVERY_MS = 3_600_000;

export class LoginThrottle {
  private lastSweepMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly now: () => number = Date.now,
    private readonly policy: ThrottlePolicy = DEFAULT_THROTTLE,
  ) {}

  /** Milliseconds until the first of these keys may try again; 0 when none is locked. */
  async lockedForMs(keys: string[]): Promise<number> {
    const rows = await this.db.selectFrom('login_attempts').selectAll().where('key', 'in', keys).execute();
    const now = this.now();
    return Math.max(0, ...rows.map((r) => r.locked_until - now));
  }

  /**
   * Counts an attempt against every key before the (slow) password or code check runs, or
   * refuses it while any key is locked. Counting first is what bounds guessing: attempts sent
   * together cannot all pass a lock check that the failures of the others have not reached yet
   * (check-then-count let 60 parallel guesses through where 5 are free). A right answer takes
   * its attempt back with `release`.
   */
  async claim(keys: string[]): Promise<ClaimResult> {
    const now = this.now();
    await this.sweep(now);
    return this.db.transaction().execute(async (tx) => {
      // Sorted, so two claims over the same keys lock the rows in one order (no deadlock).
      const sorted = [...new Set(keys)].sort();
      const rows: AttemptRow[] = [];
      for (const key of sorted) rows.push(await lockRow(tx, key));
      const waitMs = Math.max(0, ...rows.map((r) => r.locked_until - now));
      if (waitMs > 0) return { lockedForMs: waitMs };
      const claim: AttemptClaim = { claimedAt: now, keys: [], locks: [] };
      for (const row of rows) {
        const previous = now - row.last_failure_at < this.policy.forgetAfterMs ? row.failures : 0;
        const failures = previous + 1;
        const delay = lockDelayMs(failures, this.freeFailures(row.key), this.policy);
        await tx
          .updateTable('login_attempts')
          .set({ failures, last_failure_at: now, locked_until: now + delay })
          .where('key', '=', row.key)
          .execute();
        const { key, ...before } = row;
        claim.keys.push({ key, before, failures });
        if (delay > 0) claim.locks.push({ key, failures, lockedForMs: delay });
      }
      return { claim };
    });
  }

  /**
   * Takes back an attempt that turned out right. Untouched since, a key returns exactly to its
   * state before the claim; when other attempts were counted meanwhile, it keeps theirs: one
   * failure fewer, locked as that count would lock from the latest of them.
   */
  async release(claim: AttemptClaim): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      // claim.keys are in the order claim locked them.
      for (const { key, before, failures } of claim.keys) {
        const row = await lockRow(tx, key);
        const isUntouched = row.failures === failures && row.last_failure_at === claim.claimedAt;
        // Empty: a full sign-in cleared the key meanwhile, and with it this attempt.
        if (isEmpty(row) || isUntouched) {
          if (isEmpty(row) || isEmpty(before))
            await tx.deleteFrom('login_attempts').where('key', '=', key).execute();
          else await tx.updateTable('login_attempts').set(before).where('key', '=', key).execute();
          continue;
        }
        const left = Math.max(0, row.failures - 1);
        const lockedUntil = row.last_failure_at + lockDelayMs(left, this.freeFailures(key), this.policy);
        await tx
          .updateTable('login_attempts')
          .set({ failures: left, locked_until: Math.min(row.locked_until, lockedUntil) })
          .where('key', '=', key)
          .execute();
      }
    });
  }

  private freeFailures(key: string): number {
    return key.startsWith('address:') ? this.policy.addressFreeFailures : this.policy.accountFreeFailures;
  }

  /** Counts one failure against each key; returns the keys that are locked from now on. */
  async recordFailure(
    keys: string[],
  ): Promise<Array<{ key: string; failures: number; lockedForMs: number }>> {
    const now = this.now();
    const locked: Array<{ key: string; failures: number; lockedForMs: number }> = [];
    for (const key of keys) {
      const failures = await this.db.transaction().execute(async (tx) => {
        const row = await tx
          .selectFrom('login_attempts')
          .selectAll()
          .where('key', '=', key)
          .executeTakeFirst();
        const previous = row && now - row.last_failure_at < this.policy.forgetAfterMs ? row.failures : 0;
        const count = previous + 1;
        const free = key.startsWith('address:')
          ? this.policy.addressFreeFailures
          : this.policy.accountFreeFailures;
        const delay = lockDelayMs(count, free, this.policy);
        const values = { failures: count, last_failure_at: now, locked_until: now + delay };
        if (row) await tx.updateTable('login_attempts').set(values).where('key', '=', key).execute();
        else
          await tx
            .insertInto('login_attempts')
            .values({ key, ...values })
            .onConflict((oc) => oc.column('key').doUpdateSet(values))
            .execute();
        return { count, delay };
      });
      if (failures.delay > 0) locked.push({ key, failures: failures.count, lockedForMs: failures.delay });
    }
    return locked;
  }

  /**
   * Deletes the rows that no longer count: failures forgotten (forgetAfterMs) and no lock left.
   * Every typed username and every source gets a row, so without this a spray of made-up names
   * or addresses would grow the table for ever. At most once an hour, from a claim.
   */
  async sweep(now = this.now()): Promise<void> {
    if (now - this.lastSweepMs < SWEEP_EVERY_MS) return;
    this.lastSweepMs = now;
    await this.db
      .deleteFrom('login_attempts')
      .where('last_failure_at', '<', now - this.policy.forgetAfterMs)
      .where('locked_until', '<=', now)
      .execute();
  }

  /** A full sign-in clears the account's count; an address's count only fades with time. */
  async recordSuccess(key: string): Promise<void> {
    await this.db.deleteFrom('login_attempts').where('key', '=', key).execute();
  }
}

/**
 * Reads a key's row holding it until the transaction ends, creating an empty one if needed. The
 * upsert is the lock: on PostgreSQL (READ COMMITTED) a second claim on the key waits here and
 * then sees the first one's count, as SELECT ... FOR UPDATE would; SQLite serialises
 * transactions already (BEGIN IMMEDIATE) and has no FOR UPDATE.
 */
function isEmpty(row: Omit<AttemptRow, 'key'>): boolean {
  return row.failures === 0 && row.last_failure_at === 0;
}

async function lockRow(tx: Transaction<Schema>, key: string): Promise<AttemptRow> {
  return tx
    .insertInto('login_attempts')
    .values({ key, failures: 0, last_failure_at: 0, locked_until: 0 })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet((eb) => ({ failures: eb.ref('login_attempts.failures') })),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}
