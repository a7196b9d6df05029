import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { tempStore } from '../../test/support/temp-store.ts';
import { isVigilError } from '../errors/catalogue.ts';
import { verifyPassword } from './passwords.ts';
import { parseUsername } from './usernames.ts';
import { newOneTimePassword, UserStore } from './users.store.ts';

describe('user store', () => {
  let t: Awaited<ReturnType<typeof tempStore>>;
  let users: UserStore;
  before(async () => {
    t = await tempStore();
    users = new UserStore(t.store.db, t.keys);
  });
  after(() => t.cleanup());

  it('creates a user with a one-time password that must be changed', async () => {
    const { user, oneTimePassword } = await users.create({ username: 'Dr.Okafor', role: 'clinician' });
    assert.equal(user.username, 'dr.okafor');
    assert.ok(user.mustChangePassword && !user.hasTotp);
    assert.ok(oneTimePassword && (await verifyPassword(user.passwordHash, oneTimePassword)));
    assert.match(user.passwordHash, /^\$argon2id\$/);
  });

  it('refuses a second user of the same name and a weak chosen password', async () => {
    await assert.rejects(
      users.create({ username: 'dr.okafor', role: 'admin' }),
      (e) => isVigilError(e) && e.code === 'VIGIL_ERR_USER_EXISTS',
    );
    await assert.rejects(
      users.create({ username: 'weak', role: 'admin', password: 'password1234' }),
      (e) => isVigilError(e) && e.code === 'VIGIL_ERR_AUTH_PASSWORD_WEAK',
    );
  });

  it('seals the TOTP secret under the key ring, never storing it in clear', async () => {
    const { user } = await users.create({ username: 'sec.officer', role: 'security' });
    await users.setPendingTotp(user.id, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    await users.activatePendingTotp(user.id, 100);
    const row = await t.store.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    assert.ok(row.totp_sealed && !row.totp_sealed.toString('latin1').includes('JBSWY3DP'));
    assert.equal(await users.totpSecret(user.id), 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    assert.equal(await users.advanceTotpStep(user.id, 100), false, 'a step already used');
    assert.equal(await users.advanceTotpStep(user.id, 101), true);
  });

  it('redeems each recovery code once', async () => {
    const { user } = await users.create({ username: 'auditor1', role: 'auditor' });
    const codes = await users.replaceRecoveryCodes(user.id);
    assert.equal(codes.length, 10);
    assert.equal(await users.redeemRecoveryCode(user.id, codes[0] as string), true);
    assert.equal(await users.redeemRecoveryCode(user.id, codes[0] as string), false);
    assert.equal(await users.unusedRecoveryCodes(user.id), 9);
  });

  it('makes one-time passwords of 20 random characters', () => {
    assert.match(newOneTimePassword(), /^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
  });

  it('parses usernames: lower-cased, bounded, never throwing', () => {
    assert.equal(parseUsername('  Maria.Schneider '), 'maria.schneider');
    for (const bad of ['ab', '-lead', 'x'.repeat(65), 'a b c', 'ünïcode', 42, null])
      assert.equal(parseUsername(bad), undefined);
    fc.assert(
      fc.property(fc.anything(), (x) => {
        const u = parseUsername(x);
        assert.ok(u === undefined || (parseUsername(u) === u && /^[a-z0-9][a-z0-9._@-]{2,63}$/.test(u)));
      }),
    );
  });
});
