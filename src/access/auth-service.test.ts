import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { tempStore } from '../../test/support/temp-store.ts';
import type { AuditInput } from '../audit/audit-log.ts';
import { isVigilError, type VigilError } from '../errors/catalogue.ts';
import { AuthService, type LoginOutcome } from './auth-service.ts';
import { Enrolment } from './enrolment.ts';
import { LoginThrottle } from './login-throttle.ts';
import { Passkeys } from './passkeys.ts';
import type { UserIdentity } from './session-guard.ts';
import { SessionStore } from './sessions.ts';
import { UserStore } from './users.store.ts';

const PASSWORD = 'purple tractor on a windy hill';

describe('auth service', () => {
  let t: Awaited<ReturnType<typeof tempStore>>;
  let nowMs = Date.parse('2026-11-22T09:00:00Z');
  const clock = () => nowMs;
  const audited: AuditInput[] = [];
  let users: UserStore;
  let sessions: SessionStore;
  let auth: AuthService;
  let enrolment: Enrolment;
  before(async () => {
    t = await tempStore();
    users = new UserStore(t.store.db, t.keys, clock);
    sessions = new SessionStore(t.store.db, clock);
    auth = new AuthService({
      users,
      sessions,
      throttle: new LoginThrottle(t.store.db, clock),
      audit: { append: async (e) => void audited.push(e) },
      now: clock,
    });
    enrolment = new Enrolment({
      confirmPassword: (who, password, address, action) =>
        auth.confirmPassword(who, password, address, action),
      users,
      sessions,
      audit: { append: async (e) => void audited.push(e) },
      now: clock,
    });
  });
  after(() => t.cleanup());

  const failure = async (p: Promise<unknown>): Promise<VigilError> => {
    try {
      await p;
    } catch (e) {
      if (isVigilError(e)) return e;
      throw e;
    }
    throw new Error('expected a refusal');
  };
  const identityFor = async (
    userId: string,
    s: { id: string; stage: 'setup' | 'full' },
  ): Promise<UserIdentity> => {
    const found = await sessions.find(s.id);
    const user = await users.findById(userId);
    return {
      kind: 'user',
      userId,
      name: user?.username ?? '',
      role: user?.role ?? 'patient',
      actor: `user:${user?.username}`,
      stage: s.stage,
      sessionIdHash: found?.idHash ?? '',
      sessionId: s.id,
    };
  };
  /** A user with a password and TOTP enrolled, through the service itself. */
  const enrolled = async (username: string) => {
    const { user } = await users.create({ username, role: 'clinician', password: PASSWORD });
    const first = (await auth.login(username, PASSWORD, '10.0.0.1')) as Extract<
      LoginOutcome,
      { kind: 'session' }
    >;
    assert.equal(first.kind, 'session');
    assert.equal(first.session.stage, 'setup', 'no second factor yet: setup only');
    const who = await identityFor(user.id, first.session);
    const { secret } = await enrolment.beginTotp(who, undefined, undefined);
    const { recoveryCodes, session } = await enrolment.confirmTotp(
      who,
      await generate({ secret, epoch: nowMs / 1000 }),
      undefined,
    );
    assert.equal(session?.stage, 'full', 'enrolling TOTP completes setup with a new session');
    assert.notEqual(session?.id, first.session.id);
    nowMs += 30_000; // the next code belongs to a later step
    return { user, secret, recoveryCodes };
  };

  it('signs in with password then TOTP, and refuses the same code twice', async () => {
    const { secret } = await enrolled('ada');
    const login = await auth.login('ada', PASSWORD, '10.0.0.1');
    assert.equal(login.kind, 'mfa');
    const code = await generate({ secret, epoch: nowMs / 1000 });
    const session = await auth.completeMfa((login as { ticket: string }).ticket, { code }, '10.0.0.1');
    assert.equal(session.stage, 'full');
    const again = await auth.login('ada', PASSWORD, '10.0.0.1');
    const e = await failure(auth.completeMfa((again as { ticket: string }).ticket, { code }, '10.0.0.1'));
    assert.equal(e.code, 'VIGIL_ERR_AUTH_LOGIN_FAILED');
    assert.ok(audited.some((a) => a.action === 'auth.mfa.totp' && a.outcome === 'failure'));
  });

  it('gives the same answer for a wrong password and an unknown user', async () => {
    await users.create({ username: 'bob', role: 'auditor', password: PASSWORD });
    const wrong = await failure(auth.login('bob', 'not the password at all', '10.0.0.2'));
    const unknown = await failure(auth.login('nobody-here', 'not the password at all', '10.0.0.2'));
    assert.deepEqual([wrong.code, wrong.detail], [unknown.code, unknown.detail]);
  });

  it('locks an account after repeated failures with a doubling delay, unknown users alike', async () => {
    for (const name of ['carol', 'no-such-carol']) {
      if (name === 'carol') await users.create({ username: name, role: 'auditor', password: PASSWORD });
      for (let i = 0; i < 5; i++) await failure(auth.login(name, `wrong guess ${i} xyz`, `10.1.0.${i}`));
      const locked = await failure(auth.login(name, PASSWORD, '10.1.1.1'));
      assert.equal(locked.code, 'VIGIL_ERR_AUTH_THROTTLED', name);
      assert.match(locked.detail, /try again in 30 s/);
    }
    assert.ok(audited.some((a) => a.action === 'auth.lockout'));
    nowMs += 30_000;
    const outcome = await auth.login('carol', PASSWORD, '10.1.1.1');
    assert.equal(outcome.kind, 'session', 'the right password works once the delay has passed');
  });

  it('evaluates at most five of a burst of parallel guesses at one account, and not the right one after them', async () => {
    await users.create({ username: 'hedda', role: 'clinician', password: PASSWORD });
    const guesses = Array.from({ length: 40 }, (_, i) => (i === 39 ? PASSWORD : `wrong guess ${i} xyz`));
    const outcomes = await Promise.allSettled(guesses.map((g, i) => auth.login('hedda', g, `10.2.0.${i}`)));
    const codes = outcomes.map((o) => (o.status === 'rejected' ? (o.reason as VigilError).code : 'accepted'));
    assert.equal(codes.filter((c) => c === 'VIGIL_ERR_AUTH_LOGIN_FAILED').length, 5);
    assert.equal(codes.filter((c) => c === 'VIGIL_ERR_AUTH_THROTTLED').length, 35);
    assert.equal(codes[39], 'VIGIL_ERR_AUTH_THROTTLED');
  });

  it('evaluates at most twenty parallel guesses from one address across usernames', async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) => auth.login(`sprayed-${i}`, `wrong guess ${i} xyz`, '10.3.0.1')),
    );
    const codes = outcomes.map((o) => (o.status === 'rejected' ? (o.reason as VigilError).code : 'accepted'));
    assert.equal(codes.filter((c) => c === 'VIGIL_ERR_AUTH_LOGIN_FAILED').length, 20);
    assert.equal(codes.filter((c) => c === 'VIGIL_ERR_AUTH_THROTTLED').length, 10);
  });

  it('does not count the right password as a failure', async () => {
    await users.create({ username: 'ilse', role: 'clinician', password: PASSWORD });
    for (let i = 0; i < 4; i++) await failure(auth.login('ilse', `wrong guess ${i} xyz`, undefined));
    assert.equal((await auth.login('ilse', PASSWORD, undefined)).kind, 'session');
    assert.equal((await auth.login('ilse', PASSWORD, undefined)).kind, 'session');
    const fifth = await failure(auth.login('ilse', 'wrong guess 4 xyz', undefined));
    assert.equal(fifth.code, 'VIGIL_ERR_AUTH_LOGIN_FAILED');
    assert.equal((await failure(auth.login('ilse', PASSWORD, undefined))).code, 'VIGIL_ERR_AUTH_THROTTLED');
  });

  it('evaluates at most five parallel guesses of the current password of a signed-in user', async () => {
    const { user } = await enrolled('jakob');
    const s = await sessions.issue(user.id, 'full', undefined);
    const who = await identityFor(user.id, s);
    const guesses = Array.from({ length: 30 }, (_, i) => (i === 29 ? PASSWORD : `wrong guess ${i} xyz`));
    const outcomes = await Promise.allSettled(
      guesses.map((g) => enrolment.regenerateRecoveryCodes(who, g, undefined)),
    );
    const codes = outcomes.map((o) => (o.status === 'rejected' ? (o.reason as VigilError).code : 'accepted'));
    assert.equal(codes.filter((c) => c === 'VIGIL_ERR_AUTH_LOGIN_FAILED').length, 5);
    assert.equal(codes[29], 'VIGIL_ERR_AUTH_THROTTLED');
  });

  it('accepts a recovery code once instead of TOTP', async () => {
    const { recoveryCodes } = await enrolled('dora');
    const code = recoveryCodes[0] as string;
    const t1 = (await auth.login('dora', PASSWORD, undefined)) as { ticket: string };
    assert.equal(
      (await auth.completeMfa(t1.ticket, { recoveryCode: code.toUpperCase() }, undefined)).stage,
      'full',
    );
    const t2 = (await auth.login('dora', PASSWORD, undefined)) as { ticket: string };
    assert.equal(
      (await failure(auth.completeMfa(t2.ticket, { recoveryCode: code }, undefined))).code,
      'VIGIL_ERR_AUTH_LOGIN_FAILED',
    );
  });

  it('spends a ticket after five wrong codes', async () => {
    await enrolled('emil');
    const { ticket } = (await auth.login('emil', PASSWORD, undefined)) as { ticket: string };
    for (let i = 0; i < 5; i++) await failure(auth.completeMfa(ticket, { code: '000000' }, undefined));
    assert.equal(await sessions.find(ticket), undefined);
  });

  it('ends every session of the user on password change and issues a new one', async () => {
    const { user } = await enrolled('fritz');
    const a = await sessions.create(user.id, 'full', undefined);
    const b = await sessions.create(user.id, 'full', undefined);
    const who = await identityFor(user.id, { id: a.id, stage: 'full' });
    const wrong = await failure(
      auth.changePassword(who, 'not my password!!', 'a brand new long passphrase', undefined),
    );
    assert.equal(wrong.code, 'VIGIL_ERR_AUTH_LOGIN_FAILED');
    const weak = await failure(auth.changePassword(who, PASSWORD, 'password12345', undefined));
    assert.equal(weak.code, 'VIGIL_ERR_AUTH_PASSWORD_WEAK');
    const fresh = await auth.changePassword(who, PASSWORD, 'a brand new long passphrase', undefined);
    assert.equal(await sessions.find(a.id), undefined);
    assert.equal(await sessions.find(b.id), undefined);
    assert.ok(await sessions.find(fresh.id));
    assert.equal(fresh.stage, 'full');
  });

  it('asks for the current password before replacing a second factor or the recovery codes', async () => {
    const { user } = await enrolled('greta');
    const s = await sessions.issue(user.id, 'full', undefined);
    const who = await identityFor(user.id, s);
    const refused = await failure(enrolment.beginTotp(who, undefined, undefined));
    assert.equal(refused.code, 'VIGIL_ERR_REQUEST_INVALID');
    assert.equal(
      (await failure(enrolment.regenerateRecoveryCodes(who, 'wrong!', undefined))).code,
      'VIGIL_ERR_AUTH_LOGIN_FAILED',
    );
    assert.match((await enrolment.beginTotp(who, PASSWORD, undefined)).uri, /^otpauth:/);
    assert.equal((await enrolment.regenerateRecoveryCodes(who, PASSWORD, undefined)).length, 10);
  });

  it('asks for the current password before removing a passkey', async () => {
    const { user } = await enrolled('karla');
    const who = await identityFor(user.id, await sessions.issue(user.id, 'full', undefined));
    const refused = await failure(enrolment.removePasskey(who, 'some-credential', undefined, undefined));
    assert.equal(refused.code, 'VIGIL_ERR_REQUEST_INVALID');
    const wrong = await failure(enrolment.removePasskey(who, 'some-credential', 'wrong!', undefined));
    assert.equal(wrong.code, 'VIGIL_ERR_AUTH_LOGIN_FAILED');
  });

  describe('a change of second factors ends the other sessions of the user', () => {
    /** An enrolled user signed in twice: the session making the change and one elsewhere. */
    const signedInTwice = async (username: string) => {
      const { user, secret } = await enrolled(username);
      const current = await sessions.issue(user.id, 'full', undefined);
      const elsewhere = await sessions.issue(user.id, 'full', undefined);
      return { user, secret, who: await identityFor(user.id, current), current, elsewhere };
    };
    const sessionsEnded = (username: string) =>
      audited.filter((a) => a.actor === `user:${username}` && a.action === 'auth.sessions.end');

    it('on replacing the TOTP secret', async () => {
      const { who, current, elsewhere } = await signedInTwice('nora');
      const { secret } = await enrolment.beginTotp(who, PASSWORD, undefined);
      await enrolment.confirmTotp(who, await generate({ secret, epoch: nowMs / 1000 }), undefined);
      assert.equal(await sessions.find(elsewhere.id), undefined);
      assert.ok(await sessions.find(current.id), 'the session that made the change stays');
      assert.equal(sessionsEnded('nora').length, 1);
    });

    it('on regenerating the recovery codes', async () => {
      const { who, current, elsewhere } = await signedInTwice('otto');
      await enrolment.regenerateRecoveryCodes(who, PASSWORD, undefined);
      assert.equal(await sessions.find(elsewhere.id), undefined);
      assert.ok(await sessions.find(current.id));
      assert.equal(sessionsEnded('otto').length, 1);
    });

    it('on removing a passkey', async () => {
      const { user, who, current, elsewhere } = await signedInTwice('paula');
      // A stored credential row: removing it needs no working authenticator.
      await t.store.db
        .insertInto('webauthn_credentials')
        .values({
          id: 'paula-key',
          user_id: user.id,
          public_key: Buffer.from([1]),
          counter: 0,
          transports: null,
          name: 'laptop',
          created_at: nowMs,
          last_used_at: null,
        })
        .execute();
      const withPasskeys = new Enrolment({
        confirmPassword: (w, password, address, action) => auth.confirmPassword(w, password, address, action),
        users,
        sessions,
        passkeys: new Passkeys(t.store.db, 'localhost', clock),
        audit: { append: async (e) => void audited.push(e) },
        now: clock,
      });
      assert.equal(await withPasskeys.removePasskey(who, 'paula-key', PASSWORD, undefined), true);
      assert.equal(await sessions.find(elsewhere.id), undefined);
      assert.ok(await sessions.find(current.id));
      assert.equal(sessionsEnded('paula').length, 1);
    });
  });

  it('asks a full session with no second factor left for the password before enrolling one', async () => {
    const { user } = await users.create({ username: 'lotte', role: 'clinician', password: PASSWORD });
    const who = await identityFor(user.id, await sessions.issue(user.id, 'full', undefined));
    const refused = await failure(enrolment.beginTotp(who, undefined, undefined));
    assert.equal(refused.code, 'VIGIL_ERR_REQUEST_INVALID');
    assert.match((await enrolment.beginTotp(who, PASSWORD, undefined)).uri, /^otpauth:/);
  });

  it('never writes a password, code or secret into the audit trail', () => {
    const text = JSON.stringify(audited);
    assert.ok(!text.includes(PASSWORD) && !text.includes('wrong guess') && !text.includes('000000'));
  });
});
