/** The access stores behave the same on SQLite and PostgreSQL (the backend seam, STYLE.md 7). */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { accountKey, addressKey, LoginThrottle } from '../src/access/login-throttle.ts';
import { SessionStore } from '../src/access/sessions.ts';
import { UserStore } from '../src/access/users.store.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { BACKENDS } from './support/backends.ts';

for (const backend of BACKENDS) {
  describe(`access stores on ${backend.name}`, () => {
    it('keeps users, sealed TOTP secrets and one-use recovery codes', async () => {
      const { store, cleanup } = await backend.open();
      try {
        const users = new UserStore(store.db, new KeyRing(store.db, { id: 'mk-t', key: randomBytes(32) }));
        const { user } = await users.create({
          username: 'ada',
          role: 'clinician',
          password: 'purple tractor on a windy hill',
        });
        await users.setPendingTotp(user.id, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
        await users.activatePendingTotp(user.id, 10);
        assert.equal(await users.totpSecret(user.id), 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
        assert.equal(await users.advanceTotpStep(user.id, 10), false);
        assert.equal(await users.advanceTotpStep(user.id, 11), true);
        const [code] = await users.replaceRecoveryCodes(user.id);
        assert.equal(await users.redeemRecoveryCode(user.id, code as string), true);
        assert.equal(await users.redeemRecoveryCode(user.id, code as string), false);
        assert.equal(await users.unusedRecoveryCodes(user.id), 9);
        const sessions = new SessionStore(store.db);
        const a = await sessions.create(user.id, 'full', '127.0.0.1');
        const b = await sessions.create(user.id, 'mfa', undefined);
        const found = await sessions.find(b.id);
        assert.equal(found?.stage, 'mfa');
        await sessions.setChallenge(found?.idHash as string, 'abc');
        assert.equal(await sessions.takeChallenge(found?.idHash as string), 'abc');
        assert.equal(await sessions.takeChallenge(found?.idHash as string), undefined);
        assert.equal(await sessions.countFailedCode(found?.idHash as string), 1);
        assert.equal(await sessions.endAllForUser(user.id), 2);
        assert.equal(await sessions.find(a.id), undefined);
      } finally {
        await cleanup();
      }
    });

    it('counts sign-in failures and locks', async () => {
      const { store, cleanup } = await backend.open();
      try {
        const throttle = new LoginThrottle(store.db, () => 1_000_000);
        const keys = [accountKey('ada')];
        for (let i = 0; i < 4; i++) assert.deepEqual(await throttle.recordFailure(keys), []);
        assert.equal((await throttle.recordFailure(keys))[0]?.lockedForMs, 30_000);
        assert.equal(await throttle.lockedForMs(keys), 30_000);
        await throttle.recordSuccess(keys[0] as string);
        assert.equal(await throttle.lockedForMs(keys), 0);
      } finally {
        await cleanup();
      }
    });

    it('lets only the free attempts through when claims arrive together', async () => {
      const { store, cleanup } = await backend.open();
      try {
        const throttle = new LoginThrottle(store.db, () => 1_000_000);
        const keys = [accountKey('ada'), addressKey('192.0.2.1')];
        const results = await Promise.all(Array.from({ length: 12 }, () => throttle.claim(keys)));
        const claims = results.flatMap((r) => ('claim' in r ? [r.claim] : []));
        assert.equal(claims.length, 5);
        await throttle.release(claims[0] as (typeof claims)[number]);
        assert.equal(await throttle.lockedForMs(keys), 0, 'four failures left: free again');
      } finally {
        await cleanup();
      }
    });

    it('stores token scopes and revokes', async () => {
      const { store, cleanup } = await backend.open();
      try {
        const tokens = new ApiTokens(store.db);
        const t = await tokens.create({
          role: 'security',
          name: 'siem',
          ttlSeconds: 600,
          scopes: ['audit:read'],
        });
        assert.deepEqual((await tokens.verify(t.token)).scopes, ['audit:read']);
        assert.deepEqual((await tokens.list())[0]?.scopes, ['audit:read']);
        assert.equal(await tokens.revoke(t.id), true);
        assert.equal(await tokens.revoke(t.id), false);
        await assert.rejects(tokens.verify(t.token), /revoked/);
      } finally {
        await cleanup();
      }
    });
  });
}
