import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tempStore } from '../../test/support/temp-store.ts';
import { accountKey, addressKey, DEFAULT_THROTTLE, LoginThrottle, lockDelayMs } from './login-throttle.ts';

describe('login throttle', () => {
  let t: Awaited<ReturnType<typeof tempStore>>;
  let nowMs = Date.parse('2026-11-22T10:00:00Z');
  const clock = () => nowMs;
  before(async () => {
    t = await tempStore();
  });
  after(() => t.cleanup());

  it('doubles the delay after the free failures, up to the cap', () => {
    const p = DEFAULT_THROTTLE;
    assert.equal(lockDelayMs(4, 5, p), 0);
    assert.equal(lockDelayMs(5, 5, p), 30_000);
    assert.equal(lockDelayMs(6, 5, p), 60_000);
    assert.equal(lockDelayMs(8, 5, p), 240_000);
    assert.equal(lockDelayMs(500, 5, p), p.maxDelayMs);
  });

  it('locks an account after five failures and lets it try again once the delay has passed', async () => {
    const throttle = new LoginThrottle(t.store.db, clock);
    const keys = [accountKey('maria')];
    for (let i = 0; i < 4; i++) assert.deepEqual(await throttle.recordFailure(keys), []);
    assert.equal(await throttle.lockedForMs(keys), 0);
    const locked = await throttle.recordFailure(keys);
    assert.deepEqual(locked, [{ key: 'account:maria', failures: 5, lockedForMs: 30_000 }]);
    assert.equal(await throttle.lockedForMs(keys), 30_000);
    nowMs += 30_000;
    assert.equal(await throttle.lockedForMs(keys), 0);
    await throttle.recordFailure(keys);
    assert.equal(await throttle.lockedForMs(keys), 60_000, 'the next failure doubles the delay');
  });

  it('throttles an address after more failures than an account, across usernames', async () => {
    const throttle = new LoginThrottle(t.store.db, clock);
    const address = addressKey('192.0.2.7');
    for (let i = 0; i < 19; i++) await throttle.recordFailure([accountKey(`guess-${i}`), address]);
    assert.equal(await throttle.lockedForMs([address]), 0);
    await throttle.recordFailure([accountKey('guess-19'), address]);
    assert.equal(await throttle.lockedForMs([accountKey('someone-else'), address]), 30_000);
  });

  it('counts an IPv6 client by its /64, so hopping addresses within it earns no new tries', async () => {
    const throttle = new LoginThrottle(t.store.db, clock);
    for (let i = 0; i < 20; i++)
      await throttle.recordFailure([
        accountKey(`hop-${i}`),
        addressKey(`2001:db8:7:1::${(i + 1).toString(16)}`),
      ]);
    assert.equal(addressKey('2001:db8:7:1:ffff::9'), addressKey('2001:0db8:0007:0001::1'));
    assert.equal(await throttle.lockedForMs([addressKey('2001:db8:7:1:abcd::42')]), 30_000);
    assert.equal(await throttle.lockedForMs([addressKey('2001:db8:7:2::1')]), 0, 'another /64');
    assert.equal(addressKey('::ffff:192.0.2.7'), addressKey('192.0.2.7'));
  });

  it('sweeps keys whose failures are forgotten and whose lock is over, keeping the others', async () => {
    const throttle = new LoginThrottle(t.store.db, clock);
    const keys = async () =>
      (await t.store.db.selectFrom('login_attempts').select('key').where('key', 'like', '%sweep-%').execute())
        .map((r) => r.key)
        .sort();
    await throttle.recordFailure([accountKey('sweep-old')]);
    nowMs += DEFAULT_THROTTLE.forgetAfterMs;
    for (let i = 0; i < 5; i++) await throttle.recordFailure([accountKey('sweep-locked')]);
    await throttle.recordFailure([accountKey('sweep-new')]);
    nowMs += 1;
    // A claim sweeps (at most hourly): the day-old key goes, the recent and the locked stay.
    await throttle.claim([accountKey('sweep-claim')]);
    assert.deepEqual(await keys(), ['account:sweep-claim', 'account:sweep-locked', 'account:sweep-new']);
  });

  it('treats usernames case-insensitively, so case changes do not earn new tries', () => {
    assert.equal(accountKey('Maria'), accountKey('maria'));
  });

  it('clears an account on success and forgets old failures after a quiet day', async () => {
    const throttle = new LoginThrottle(t.store.db, clock);
    const keys = [accountKey('jonas')];
    for (let i = 0; i < 4; i++) await throttle.recordFailure(keys);
    await throttle.recordSuccess(keys[0] as string);
    for (let i = 0; i < 4; i++) assert.deepEqual(await throttle.recordFailure(keys), []);
    nowMs += DEFAULT_THROTTLE.forgetAfterMs;
    for (let i = 0; i < 4; i++)
      assert.deepEqual(await throttle.recordFailure(keys), [], 'counting starts again');
  });

  it('counts parallel claims one after another, so only the free ones are let through', async () => {
    const throttle = new LoginThrottle(t.store.db, clock);
    const keys = [accountKey('parallel'), addressKey('192.0.2.9')];
    const results = await Promise.all(Array.from({ length: 12 }, () => throttle.claim(keys)));
    const claims = results.flatMap((r) => ('claim' in r ? [r.claim] : []));
    assert.equal(claims.length, 5);
    assert.deepEqual(claims.at(-1)?.locks, [{ key: 'account:parallel', failures: 5, lockedForMs: 30_000 }]);
    assert.equal(await throttle.lockedForMs(keys), 30_000);
  });

  it('refuses a claim on any locked key without counting it on the others', async () => {
    const throttle = new LoginThrottle(t.store.db, clock);
    const account = accountKey('innocent');
    const address = addressKey('192.0.2.10');
    for (let i = 0; i < 20; i++) await throttle.recordFailure([accountKey(`spray-${i}`), address]);
    assert.deepEqual(await throttle.claim([account, address]), { lockedForMs: 30_000 });
    const row = await t.store.db
      .selectFrom('login_attempts')
      .selectAll()
      .where('key', '=', account)
      .executeTakeFirst();
    assert.equal(row?.failures ?? 0, 0);
  });

  it('returns a released key to exactly its state before the claim', async () => {
    const throttle = new LoginThrottle(t.store.db, clock);
    const keys = [accountKey('released'), addressKey('192.0.2.11')];
    await throttle.recordFailure(keys);
    const before = await t.store.db
      .selectFrom('login_attempts')
      .selectAll()
      .where('key', 'in', keys)
      .execute();
    nowMs += 1000;
    const result = await throttle.claim(keys);
    assert.ok('claim' in result);
    await throttle.release(result.claim);
    const after = await t.store.db
      .selectFrom('login_attempts')
      .selectAll()
      .where('key', 'in', keys)
      .execute();
    assert.deepEqual(after, before);
    const fresh = await throttle.claim([accountKey('never-failed')]);
    assert.ok('claim' in fresh);
    await throttle.release(fresh.claim);
    assert.equal(
      await t.store.db
        .selectFrom('login_attempts')
        .select('key')
        .where('key', '=', accountKey('never-failed'))
        .executeTakeFirst(),
      undefined,
    );
  });

  it('keeps the failures of other attempts counted while a right one was checked', async () => {
    const throttle = new LoginThrottle(t.store.db, clock);
    const keys = [accountKey('overlap')];
    const right = await throttle.claim(keys);
    assert.ok('claim' in right);
    for (let i = 0; i < 4; i++) assert.ok('claim' in (await throttle.claim(keys)));
    assert.equal(await throttle.lockedForMs(keys), 30_000, 'five claims lock as five failures would');
    await throttle.release(right.claim);
    assert.equal(await throttle.lockedForMs(keys), 0, 'four failures are still free');
    const fifth = await throttle.claim(keys);
    assert.ok('claim' in fifth);
    assert.deepEqual(fifth.claim.locks, [{ key: 'account:overlap', failures: 5, lockedForMs: 30_000 }]);
  });
});
