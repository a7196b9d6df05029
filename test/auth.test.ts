/**
 * Signing in against a real running Vigil over HTTPS: password and TOTP, answers that do not
 * reveal who exists, brute-force lockout, session fixation, cookie flags, CSRF, logout, and
 * password change ending other sessions (issue #4, items 1-3).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { type HttpsResult, httpsRequest } from './support/https-client.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

const PASSWORD = 'purple tractor on a windy hill';
const COOKIE = '__Host-vigil_session';

interface Session {
  cookie: string;
  csrf: string;
}
interface Enrolled {
  username: string;
  secret: string;
  lastStep: number;
  recoveryCodes: string[];
  session: Session;
}

/** Every session id, CSRF token, ticket, TOTP secret and recovery code handed out, to prove none reaches the audit trail. */
const secretsSeen: string[] = [];
const problemCode = (r: HttpsResult) => (r.json as { code?: string } | undefined)?.code;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setCookieOf(r: HttpsResult): string | undefined {
  const all = [r.headers['set-cookie'] ?? []].flat();
  return all.find((c) => c.startsWith(`${COOKIE}=`));
}
function sessionOf(r: HttpsResult): Session {
  const set = setCookieOf(r);
  assert.ok(set, `no session cookie in answer ${r.status} ${r.text}`);
  const value = set.split(';')[0]?.slice(COOKIE.length + 1) ?? '';
  const csrf = (r.json as { csrfToken: string }).csrfToken;
  secretsSeen.push(value, csrf);
  return { cookie: value, csrf };
}

describe('signing in (end to end)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.stop());

  function call(
    path: string,
    o: { method?: string; body?: unknown; session?: Partial<Session>; token?: string; address?: string } = {},
  ) {
    const headers: Record<string, string> = {};
    if (o.session?.cookie !== undefined) headers.cookie = `theme=dark; ${COOKIE}=${o.session.cookie}`;
    if (o.session?.csrf !== undefined) headers['x-csrf-token'] = o.session.csrf;
    return httpsRequest(`${h.baseUrl}${path}`, {
      ca: h.caPem,
      method: o.method ?? (o.body === undefined ? 'GET' : 'POST'),
      headers,
      ...(o.token ? { token: o.token } : {}),
      ...(o.body === undefined ? {} : { body: JSON.stringify(o.body) }),
    });
  }

  /** The next TOTP code for a step not used before, waiting if two were used within one step. */
  async function nextCode(u: Enrolled): Promise<string> {
    let current = Math.floor(Date.now() / 30_000);
    if (u.lastStep > current) {
      await sleep(u.lastStep * 30_000 - Date.now() + 50);
      current = Math.floor(Date.now() / 30_000);
    }
    u.lastStep = Math.max(current, u.lastStep + 1);
    return generate({ secret: u.secret, epoch: u.lastStep * 30 });
  }

  /** A user with a password of their own, enrolled in TOTP through the API, with a full session. */
  async function enrolledUser(role: 'clinician' | 'admin' | 'auditor' = 'clinician'): Promise<Enrolled> {
    const username = `user-${randomBytes(4).toString('hex')}`;
    await h.vigil.access.users.create({ username, role, password: PASSWORD });
    const login = await call('/api/v1/auth/login', { body: { username, password: PASSWORD } });
    assert.equal(login.status, 200, login.text);
    assert.deepEqual((login.json as { mfaRequired: boolean; stage: string }).mfaRequired, false);
    const setup = sessionOf(login);
    const begin = await call('/api/v1/auth/totp', { method: 'POST', session: setup });
    assert.equal(begin.status, 200, begin.text);
    const { secret, otpauthUri } = begin.json as { secret: string; otpauthUri: string };
    assert.match(otpauthUri, /^otpauth:\/\/totp\/Vigil:/);
    const u: Enrolled = { username, secret, lastStep: 0, recoveryCodes: [], session: setup };
    const confirm = await call('/api/v1/auth/totp/confirm', {
      body: { code: await nextCode(u) },
      session: setup,
    });
    assert.equal(confirm.status, 200, confirm.text);
    u.recoveryCodes = (confirm.json as { recoveryCodes: string[] }).recoveryCodes;
    secretsSeen.push(secret, ...u.recoveryCodes);
    u.session = sessionOf(confirm);
    assert.notEqual(u.session.cookie, setup.cookie, 'finishing setup issues a new session id');
    return u;
  }

  async function signIn(u: Enrolled, proof?: { recoveryCode: string }): Promise<HttpsResult> {
    const login = await call('/api/v1/auth/login', { body: { username: u.username, password: PASSWORD } });
    assert.equal(login.status, 200, login.text);
    const { mfaRequired, ticket } = login.json as { mfaRequired: boolean; ticket: string };
    secretsSeen.push(ticket);
    assert.equal(mfaRequired, true);
    assert.equal(setCookieOf(login), undefined, 'no session before the second factor');
    return call('/api/v1/auth/mfa', { body: { ticket, ...(proof ?? { code: await nextCode(u) }) } });
  }

  it('signs in with password and TOTP into a HttpOnly, Secure, SameSite=Strict cookie', async () => {
    const u = await enrolledUser();
    const mfa = await signIn(u);
    assert.equal(mfa.status, 200, mfa.text);
    const set = setCookieOf(mfa) ?? '';
    for (const attr of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/'])
      assert.ok(set.includes(attr), `${attr} in ${set}`);
    assert.equal(mfa.headers['cache-control'], 'no-store');
    const session = sessionOf(mfa);
    const me = await call('/api/v1/auth/me', { session: { cookie: session.cookie } });
    assert.equal(me.status, 200, me.text);
    assert.equal((me.json as { username: string; stage: string }).username, u.username);
    assert.equal((await call('/api/v1/devices', { session: { cookie: session.cookie } })).status, 200);
  });

  it('answers a wrong password and an unknown user identically', async () => {
    const u = await enrolledUser();
    const wrong = await call('/api/v1/auth/login', {
      body: { username: u.username, password: 'not the right one at all' },
    });
    const unknown = await call('/api/v1/auth/login', {
      body: { username: 'nobody-by-this-name', password: 'not the right one at all' },
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.status, unknown.status);
    assert.deepEqual(wrong.json, unknown.json);
    assert.equal(problemCode(wrong), 'VIGIL_ERR_AUTH_LOGIN_FAILED');
  });

  it('locks an account after five failures, known or not, and audits the lockout', async () => {
    const u = await enrolledUser();
    const answers: HttpsResult[] = [];
    for (const username of [u.username, 'no-such-user-x']) {
      for (let i = 0; i < 5; i++) {
        const r = await call('/api/v1/auth/login', {
          body: { username, password: `wrong guess number ${i}` },
        });
        assert.equal(r.status, 401);
      }
      answers.push(await call('/api/v1/auth/login', { body: { username, password: PASSWORD } }));
    }
    for (const r of answers) {
      assert.equal(r.status, 429, r.text);
      assert.equal(problemCode(r), 'VIGIL_ERR_AUTH_THROTTLED');
      assert.ok(Number(r.headers['retry-after']) > 0);
    }
    assert.deepEqual(answers[0]?.json, answers[1]?.json);
    const lockouts = await h.vigil.store.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'auth.lockout')
      .execute();
    assert.ok(lockouts.length >= 2);
  });

  it('never adopts a session id the browser brings: a new id at every sign-in', async () => {
    const u = await enrolledUser();
    const planted = randomBytes(32).toString('base64url');
    const login = await call('/api/v1/auth/login', {
      body: { username: u.username, password: PASSWORD },
      session: { cookie: planted },
    });
    const { ticket } = login.json as { ticket: string };
    assert.equal(
      (await call('/api/v1/auth/me', { session: { cookie: ticket } })).status,
      401,
      'a sign-in ticket is not a session',
    );
    const mfa = await call('/api/v1/auth/mfa', {
      body: { ticket, code: await nextCode(u) },
      session: { cookie: u.session.cookie },
    });
    const fresh = sessionOf(mfa);
    assert.notEqual(fresh.cookie, planted);
    assert.notEqual(fresh.cookie, u.session.cookie);
    assert.equal((await call('/api/v1/auth/me', { session: { cookie: planted } })).status, 401);
    assert.equal(
      (await call('/api/v1/auth/me', { session: { cookie: u.session.cookie } })).status,
      401,
      'the session the browser held before signing in again is ended',
    );
    assert.equal((await call('/api/v1/auth/me', { session: { cookie: fresh.cookie } })).status, 200);
  });

  it('refuses a change authenticated by the cookie without the right CSRF token', async () => {
    const u = await enrolledUser();
    const other = await enrolledUser();
    for (const csrf of [undefined, other.session.csrf, 'x'.repeat(43)]) {
      const r = await call('/api/v1/auth/logout', {
        method: 'POST',
        session: { cookie: u.session.cookie, ...(csrf === undefined ? {} : { csrf }) },
      });
      assert.equal(r.status, 403, r.text);
      assert.equal(problemCode(r), 'VIGIL_ERR_AUTH_CSRF');
    }
    const me = await call('/api/v1/auth/me', { session: { cookie: u.session.cookie } });
    assert.equal(
      (me.json as { csrfToken: string }).csrfToken,
      u.session.csrf,
      'the page can fetch the token again',
    );
  });

  it('ends the session at logout and tells the browser to forget it', async () => {
    const u = await enrolledUser();
    const out = await call('/api/v1/auth/logout', { method: 'POST', session: u.session });
    assert.equal(out.status, 204, out.text);
    assert.match(setCookieOf(out) ?? '', /Max-Age=0/);
    assert.equal((await call('/api/v1/auth/me', { session: u.session })).status, 401);
  });

  it('ends every other session on password change and keeps the changer signed in with a new id', async () => {
    const u = await enrolledUser();
    const second = sessionOf(await signIn(u, { recoveryCode: u.recoveryCodes[0] as string }));
    const change = await call('/api/v1/auth/password', {
      body: { currentPassword: PASSWORD, newPassword: 'an entirely new passphrase here' },
      session: u.session,
    });
    assert.equal(change.status, 200, change.text);
    const renewed = sessionOf(change);
    assert.equal((await call('/api/v1/auth/me', { session: second })).status, 401);
    assert.equal((await call('/api/v1/auth/me', { session: u.session })).status, 401);
    assert.equal((await call('/api/v1/auth/me', { session: renewed })).status, 200);
    const old = await call('/api/v1/auth/login', { body: { username: u.username, password: PASSWORD } });
    assert.equal(old.status, 401);
  });

  it('refuses a weak new password with the reasons', async () => {
    const u = await enrolledUser();
    const r = await call('/api/v1/auth/password', {
      body: { currentPassword: PASSWORD, newPassword: 'Password2026!' },
      session: u.session,
    });
    assert.equal(r.status, 422);
    assert.match((r.json as { detail: string }).detail, /common or breached/);
  });

  it('keeps a session still in setup away from everything but the account routes', async () => {
    const username = `setup-${randomBytes(3).toString('hex')}`;
    await h.vigil.access.users.create({ username, role: 'admin', password: PASSWORD });
    const setup = sessionOf(await call('/api/v1/auth/login', { body: { username, password: PASSWORD } }));
    const r = await call('/api/v1/devices', { session: setup });
    assert.equal(r.status, 403);
    assert.equal(problemCode(r), 'VIGIL_ERR_AUTH_SETUP_REQUIRED');
    assert.equal((await call('/api/v1/auth/me', { session: setup })).status, 200);
  });

  it('lets an administrator add a user whose one-time password must be changed, with TOTP', async () => {
    const admin = await enrolledUser('admin');
    const username = `nurse-${randomBytes(3).toString('hex')}`;
    const add = await call('/api/v1/users', {
      body: { username, role: 'clinician' },
      session: admin.session,
    });
    assert.equal(add.status, 201, add.text);
    const { oneTimePassword } = add.json as { oneTimePassword: string };
    const login = await call('/api/v1/auth/login', { body: { username, password: oneTimePassword } });
    const setup = sessionOf(login);
    const me = (await call('/api/v1/auth/me', { session: setup })).json as { mustChangePassword: boolean };
    assert.equal(me.mustChangePassword, true);
    const changed = await call('/api/v1/auth/password', {
      body: { currentPassword: oneTimePassword, newPassword: PASSWORD },
      session: setup,
    });
    assert.equal((changed.json as { stage: string }).stage, 'setup', 'TOTP is still to be enrolled');
    const audit = await h.vigil.store.db
      .selectFrom('audit_log')
      .select('action')
      .where('actor', '=', `user:${admin.username}`)
      .execute();
    assert.ok(audit.some((a) => a.action === 'user.create.clinician'));
    const list = await call('/api/v1/users', { session: admin.session });
    assert.ok(JSON.stringify(list.json).includes(username) && !list.text.includes('argon2'));
  });

  it('takes sign-in only as JSON, so a cross-site form cannot sign a browser in', async () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded']) {
      const r = await httpsRequest(`${h.baseUrl}/api/v1/auth/login`, {
        ca: h.caPem,
        method: 'POST',
        contentType,
        body: JSON.stringify({ username: 'someone', password: PASSWORD }),
      });
      assert.ok(r.status === 415 || r.status === 400, `${contentType}: ${r.status}`);
    }
  });

  it('refuses bearer tokens on the account routes, which are for people', async () => {
    const r = await call('/api/v1/auth/me', { token: h.adminToken });
    assert.equal(r.status, 403);
  });

  it('issues scoped API tokens that a revocation stops at once', async () => {
    const create = await call('/api/v1/tokens', {
      body: { name: 'ward-monitor', role: 'admin', ttl: '1h', scopes: ['devices:read'] },
      token: h.adminToken,
    });
    assert.equal(create.status, 201, create.text);
    const { id, token } = create.json as { id: string; token: string };
    assert.equal((await call('/api/v1/devices', { token })).status, 200);
    const outOfScope = await call('/api/v1/patients', { token });
    assert.equal(outOfScope.status, 403, 'patients:read is the role’s but not in the scopes');
    const widen = await call('/api/v1/tokens', {
      body: { name: 'sneaky', role: 'admin', ttl: '1h', scopes: ['audit:read'] },
      token: h.adminToken,
    });
    assert.equal(widen.status, 400, 'a scope cannot add what the role lacks');
    assert.equal((await call(`/api/v1/tokens/${id}`, { method: 'DELETE', token: h.adminToken })).status, 204);
    assert.equal((await call('/api/v1/devices', { token })).status, 401);
    const listed = await call('/api/v1/tokens', { token: h.adminToken });
    assert.ok(!listed.text.includes(token.split('.')[1] as string), 'secrets are never listed');
  });

  it('lets a caller mint only tokens whose every permission it holds itself', async () => {
    // Administrators manage tokens but read no patient data and no audit trail (roles.ts).
    for (const body of [
      { name: 'mint-integration', role: 'integration', ttl: '1h' },
      { name: 'mint-auditor', role: 'auditor', ttl: '1h' },
      { name: 'mint-clinician', role: 'clinician', ttl: '1h', scopes: ['observations:read'] },
      { name: 'mint-security', role: 'security', ttl: '1h' },
    ]) {
      const r = await call('/api/v1/tokens', { body, token: h.adminToken });
      assert.equal(r.status, 403, `${body.role}: ${r.text}`);
      assert.match(String(r.headers['content-type']), /application\/problem\+json/);
      assert.equal(problemCode(r), 'VIGIL_ERR_AUTH_FORBIDDEN');
      assert.match((r.json as { detail: string }).detail, /may not|does not hold/);
      assert.match((r.json as { detail: string }).detail, /vigil token create --role/);
    }
    const refused = await call('/api/v1/tokens', {
      body: { name: 'mint-integration', role: 'integration', ttl: '1h' },
      token: h.adminToken,
    });
    assert.match((refused.json as { detail: string }).detail, /observations:read, alerts:read/);
    // patients:read is the administrator's too, but an integration reads patients' records with
    // it, under consent alone, where an administrator reads none (patientReadFooting).
    for (const role of ['integration', 'clinician']) {
      const r = await call('/api/v1/tokens', {
        body: { name: `mint-${role}-narrow`, role, ttl: '1h', scopes: ['patients:read'] },
        token: h.adminToken,
      });
      assert.equal(r.status, 403, `${role} scoped to patients:read: ${r.text}`);
    }
    const minted = await h.vigil.store.db
      .selectFrom('api_tokens')
      .select('name')
      .where('name', 'like', 'mint-%')
      .execute();
    assert.deepEqual(minted, [], 'no refused token was stored');
    // What the administrator holds it may hand on, in any role that carries no more.
    const security = await call('/api/v1/tokens', {
      body: { name: 'posture-bot', role: 'security', ttl: '1h', scopes: ['posture:read', 'devices:read'] },
      token: h.adminToken,
    });
    assert.equal(security.status, 201, security.text);
    const narrowAdmin = await call('/api/v1/tokens', {
      body: { name: 'token-manager', role: 'admin', ttl: '1h', scopes: ['tokens:write', 'devices:read'] },
      token: h.adminToken,
    });
    assert.equal(narrowAdmin.status, 201, narrowAdmin.text);
    // A scoped token holds only its scopes: it cannot mint the rest of its role.
    const { token: manager } = narrowAdmin.json as { token: string };
    const wider = await call('/api/v1/tokens', {
      body: { name: 'wider', role: 'admin', ttl: '1h', scopes: ['devices:write'] },
      token: manager,
    });
    assert.equal(wider.status, 403, wider.text);
    assert.match((wider.json as { detail: string }).detail, /devices:write/);
  });

  it('refuses a token name a live token holds, as a 409 problem', async () => {
    const body = { name: 'nightly-export', role: 'admin', ttl: '1h', scopes: ['devices:read'] };
    assert.equal((await call('/api/v1/tokens', { body, token: h.adminToken })).status, 201);
    // test-clinician is the harness's care-team member: a namesake would read its patients.
    for (const name of ['nightly-export', 'test-clinician']) {
      const r = await call('/api/v1/tokens', { body: { ...body, name }, token: h.adminToken });
      assert.equal(r.status, 409, `${name}: ${r.text}`);
      assert.match(String(r.headers['content-type']), /application\/problem\+json/);
      assert.match((r.json as { detail: string }).detail, /choose another name/);
    }
  });

  it('never writes passwords, codes or session ids to the audit trail', async () => {
    const rows = await h.vigil.store.db.selectFrom('audit_log').selectAll().execute();
    const text = JSON.stringify(rows);
    assert.ok(!text.includes(PASSWORD) && !text.includes('wrong guess'));
    assert.ok(secretsSeen.length > 10);
    for (const secret of secretsSeen) assert.ok(!text.includes(secret), 'a session id, CSRF token or ticket');
  });
});
