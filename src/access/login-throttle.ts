import type { Kysely } from 'kysely';
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
export const addressKey = (address: string) => `address:${address}`;

/** The delay after `failures` failures when `free` are allowed: 0, then base, 2×base, … up to max. */
export function lockDelayMs(failures: number, free: number, policy: ThrottlePolicy): number {
  if (failures < free) return 0;
  const doublings = Math.min(failures - free, 30);
  return Math.min(policy.baseDelayMs * 2 ** doublings, policy.maxDelayMs);
}

export class LoginThrottle {
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

  /** A full sign-in clears the account's count; an address's count only fades with time. */
  async recordSuccess(key: string): Promise<void> {
    await this.db.deleteFrom('login_attempts').where('key', '=', key).execute();
  }
}
