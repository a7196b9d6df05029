/**
 * `vigil init` creates the first administrator with a one-time password, printed once; the
 * first sign-in must change it and enrol TOTP before anything else is reachable.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import pino from 'pino';
import { loadConfig } from '../src/config/config.ts';
import { type InitResult, initDataDir } from '../src/server/provision.ts';
import { type RunningVigil, startVigil } from '../src/server/vigil.ts';
import { type HttpsResult, httpsRequest } from './support/https-client.ts';

const COOKIE = '__Host-vigil_session';

describe('first administrator (vigil init)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-init-'));
  const config = loadConfig({
    env: { VIGIL_DATA_DIR: dir, VIGIL_HTTP_PORT: '0', VIGIL_MQTT_PORT: '0', VIGIL_LOG_LEVEL: 'silent' },
  });
  let init: InitResult;
  let vigil: RunningVigil;
  before(async () => {
    init = await initDataDir(config);
    vigil = await startVigil(config, { log: pino({ level: 'silent' }) });
  });
  after(async () => {
    await vigil.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (path: string, body?: unknown, session?: { cookie: string; csrf: string }) =>
    httpsRequest(`https://127.0.0.1:${vigil.httpPort}${path}`, {
      ca: vigil.caPem,
      method: body === undefined ? 'GET' : 'POST',
      headers: session ? { cookie: `${COOKIE}=${session.cookie}`, 'x-csrf-token': session.csrf } : {},
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const sessionOf = (r: HttpsResult) => {
    const set = [r.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith(`${COOKIE}=`)) ?? '';
    return {
      cookie: set.split(';')[0]?.slice(COOKIE.length + 1) ?? '',
      csrf: (r.json as { csrfToken: string }).csrfToken,
    };
  };

  it('stores only a hash of the one-time password', async () => {
    assert.equal(init.adminUsername, 'admin');
    assert.match(init.adminPassword, /^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
    const row = await vigil.store.db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', 'admin')
      .executeTakeFirstOrThrow();
    assert.equal(row.must_change_password, 1);
    assert.ok(!JSON.stringify(row).includes(init.adminPassword));
  });

  it('makes the first sign-in change the password and enrol TOTP before anything else', async () => {
    const login = await call('/api/v1/auth/login', { username: 'admin', password: init.adminPassword });
    assert.equal(login.status, 200, login.text);
    let session = sessionOf(login);
    assert.equal((await call('/api/v1/users', undefined, session)).status, 403);
    const changed = await call(
      '/api/v1/auth/password',
      { currentPassword: init.adminPassword, newPassword: 'night shift lantern over the harbour' },
      session,
    );
    assert.equal(changed.status, 200, changed.text);
    session = sessionOf(changed);
    assert.equal((await call('/api/v1/users', undefined, session)).status, 403, 'TOTP is still missing');
    const { secret } = (await call('/api/v1/auth/totp', {}, session)).json as { secret: string };
    const confirmed = await call('/api/v1/auth/totp/confirm', { code: await generate({ secret }) }, session);
    assert.equal(confirmed.status, 200, confirmed.text);
    session = sessionOf(confirmed);
    const users = await call('/api/v1/users', undefined, session);
    assert.equal(users.status, 200, users.text);
    const again = await call('/api/v1/auth/login', { username: 'admin', password: init.adminPassword });
    assert.equal(again.status, 401, 'the one-time password works once');
  });
});
