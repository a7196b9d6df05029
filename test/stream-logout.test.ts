/**
 * Signing out ends the session's live streams at once, in the running server: the periodic
 * re-check (every 30 s by default) would otherwise keep a second tab receiving readings and
 * alerts for up to half a minute after the person signed out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { httpsRequest } from './support/https-client.ts';
import { openStream } from './support/stream-client.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

describe('signing out with a live stream open', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    // The default re-check interval: only the sign-out itself can end the stream in time.
    h = await startHarness();
  });
  after(() => h?.stop());

  async function session(
    username = 'logout-clinician',
  ): Promise<{ cookie: string; csrf: string; id: string }> {
    const { user } = await h.vigil.access.users.create({
      username,
      role: 'clinician',
      password: 'a passphrase for the logout test',
    });
    const s = await h.vigil.access.sessions.create(user.id, 'full', undefined);
    return { cookie: `__Host-vigil_session=${s.id}`, csrf: s.csrfToken, id: user.id };
  }

  it('closes the stream with 1008 within seconds, not at the next 30 s re-check', async () => {
    const { cookie, csrf } = await session();
    const s = await openStream(h.baseUrl, h.caPem, { cookie, origin: h.baseUrl });
    await s.waitFor((f) => f.type === 'hello', 'hello');
    const out = await httpsRequest(`${h.baseUrl}/api/v1/auth/logout`, {
      ca: h.caPem,
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf },
    });
    assert.ok(out.status < 300, out.text);
    const closed = await Promise.race([
      s.closed,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000)),
    ]);
    assert.equal(closed?.code, 1008, 'the stream was still open 10 s after signing out');
    const error = s.frames.find((f) => f.type === 'error');
    assert.equal(error?.code, 'VIGIL_ERR_AUTH_REQUIRED');
  });

  it('closes the stream of a user an administrator disables, at once', async () => {
    const { cookie, id } = await session('disabled-clinician');
    const s = await openStream(h.baseUrl, h.caPem, { cookie, origin: h.baseUrl });
    await s.waitFor((f) => f.type === 'hello', 'hello');
    const out = await h.api(`/api/v1/users/${id}`, { method: 'PATCH', body: { disabled: true } });
    assert.equal(out.status, 200, out.text);
    const closed = await Promise.race([
      s.closed,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000)),
    ]);
    assert.equal(closed?.code, 1008, 'the stream was still open 10 s after the account was disabled');
  });
});
