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
});
