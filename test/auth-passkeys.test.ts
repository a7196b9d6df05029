/**
 * WebAuthn passkeys end to end against a real Vigil, with a software authenticator (a fake,
 * named as one: no browser or security key runs here) that builds attestation and assertion
 * bytes exactly as WebAuthn Level 3 §6.1 and §6.5 lay them out, signed with a real P-256 key.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { type HttpsResult, httpsRequest } from './support/https-client.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

const PASSWORD = 'purple tractor on a windy hill';
const COOKIE = '__Host-vigil_session';
const b64u = (b: Uint8Array | Buffer) => Buffer.from(b).toString('base64url');
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest();

/** A fake authenticator: one P-256 credential, a signature counter, and honest bytes. */
class FakeAuthenticator {
  readonly credentialId = randomBytes(16);
  private readonly keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  private counter = 0;

  private authData(rpId: string, attested: boolean): Buffer {
    this.counter++;
    const flags = 0x01 | 0x04 | (attested ? 0x40 : 0); // user present, user verified, attested data
    const head = Buffer.concat([sha256(rpId), Buffer.from([flags]), Buffer.alloc(4)]);
    head.writeUInt32BE(this.counter, 33);
    if (!attested) return head;
    const jwk = (this.keys.publicKey as KeyObject).export({ format: 'jwk' });
    // COSE_Key (RFC 9053): kty EC2, alg ES256, crv P-256, x, y.
    const cose = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x as string, 'base64url')],
        [-3, Buffer.from(jwk.y as string, 'base64url')],
      ]),
    );
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(this.credentialId.length);
    return Buffer.concat([head, Buffer.alloc(16), idLength, this.credentialId, Buffer.from(cose)]);
  }

  create(options: { challenge: string; rp: { id: string } }, origin: string) {
    const clientData = Buffer.from(
      JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin }),
    );
    const attestation = isoCBOR.encode(
      new Map<string, unknown>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', this.authData(options.rp.id, true)],
      ]) as Parameters<typeof isoCBOR.encode>[0],
    );
    return {
      id: b64u(this.credentialId),
      rawId: b64u(this.credentialId),
      type: 'public-key',
      response: {
        clientDataJSON: b64u(clientData),
        attestationObject: b64u(attestation),
        transports: ['internal'],
      },
      clientExtensionResults: {},
    };
  }

  get(options: { challenge: string; rpId: string }, origin: string) {
    const clientData = Buffer.from(
      JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin }),
    );
    const authData = this.authData(options.rpId, false);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientData)]), this.keys.privateKey);
    return {
      id: b64u(this.credentialId),
      rawId: b64u(this.credentialId),
      type: 'public-key',
      response: {
        clientDataJSON: b64u(clientData),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
      },
      clientExtensionResults: {},
    };
  }
}

describe('passkeys (WebAuthn) end to end', () => {
  let h: Harness;
  let origin: string;
  before(async () => {
    h = await startHarness();
    origin = `https://localhost:${h.vigil.httpPort}`;
  });
  after(() => h.stop());

  /** As a browser at https://localhost:<port> (WebAuthn refuses IP addresses as relying party). */
  const call = (path: string, body?: unknown, session?: { cookie: string; csrf: string }) =>
    httpsRequest(`${h.baseUrl}${path}`, {
      ca: h.caPem,
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        host: `localhost:${h.vigil.httpPort}`,
        ...(session ? { cookie: `${COOKIE}=${session.cookie}`, 'x-csrf-token': session.csrf } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const sessionOf = (r: HttpsResult) => {
    const set = [r.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith(`${COOKIE}=`));
    assert.ok(set, `no session cookie: ${r.status} ${r.text}`);
    return {
      cookie: set.split(';')[0]?.slice(COOKIE.length + 1) ?? '',
      csrf: (r.json as { csrfToken: string }).csrfToken,
    };
  };

  it('enrols a passkey as the first second factor and signs in with it', async () => {
    const username = `pk-${randomBytes(3).toString('hex')}`;
    await h.vigil.access.users.create({ username, role: 'clinician', password: PASSWORD });
    const setup = sessionOf(await call('/api/v1/auth/login', { username, password: PASSWORD }));
    const options = (await call('/api/v1/auth/passkeys/options', {}, setup)).json as {
      challenge: string;
      rp: { id: string };
    };
    assert.equal(options.rp.id, 'localhost');
    const authenticator = new FakeAuthenticator();
    const registered = await call(
      '/api/v1/auth/passkeys',
      { name: 'ward laptop', credential: authenticator.create(options, origin) },
      setup,
    );
    assert.equal(registered.status, 201, registered.text);
    const body = registered.json as { recoveryCodes: string[]; stage: string };
    assert.equal(body.recoveryCodes.length, 10);
    assert.equal(body.stage, 'full');

    const login = await call('/api/v1/auth/login', { username, password: PASSWORD });
    const { ticket, mfaRequired } = login.json as { ticket: string; mfaRequired: boolean };
    assert.equal(mfaRequired, true);
    const request = (await call('/api/v1/auth/webauthn/options', { ticket })).json as {
      challenge: string;
      rpId: string;
    };
    const signedIn = await call('/api/v1/auth/webauthn', {
      ticket,
      credential: authenticator.get(request, origin),
    });
    assert.equal(signedIn.status, 200, signedIn.text);
    const session = sessionOf(signedIn);
    assert.equal((await call('/api/v1/devices', undefined, session)).status, 200);

    const listed = (await call('/api/v1/auth/passkeys', undefined, session)).json as {
      passkeys: Array<{ id: string; name: string }>;
    };
    assert.deepEqual(
      listed.passkeys.map((p) => p.name),
      ['ward laptop'],
    );
    const remove = (body?: unknown) =>
      httpsRequest(`${h.baseUrl}/api/v1/auth/passkeys/${listed.passkeys[0]?.id}`, {
        ca: h.caPem,
        method: 'DELETE',
        headers: { cookie: `${COOKIE}=${session.cookie}`, 'x-csrf-token': session.csrf },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const bare = await remove();
    assert.equal(bare.status, 400, 'a session alone cannot remove a passkey');
    assert.match(bare.text, /currentPassword/);
    assert.equal((await remove({ currentPassword: 'not the password at all' })).status, 401);
    const removal = await remove({ currentPassword: PASSWORD });
    assert.equal(removal.status, 204, removal.text);
    // With no second factor left, the full session still needs the password to enrol one.
    const enrol = await call('/api/v1/auth/totp', {}, session);
    assert.equal(enrol.status, 400, enrol.text);
    assert.match(enrol.text, /currentPassword/);
    const passkeyOptions = await call('/api/v1/auth/passkeys/options', {}, session);
    assert.equal(passkeyOptions.status, 400, passkeyOptions.text);
    assert.equal((await call('/api/v1/auth/totp', { currentPassword: PASSWORD }, session)).status, 200);
    const audit = await h.vigil.store.db
      .selectFrom('audit_log')
      .select('action')
      .where('actor', '=', `user:${username}`)
      .execute();
    assert.ok(
      ['auth.passkey.register', 'auth.mfa.passkey', 'auth.passkey.remove'].every((a) =>
        audit.some((e) => e.action === a),
      ),
    );
  });

  it('refuses an assertion from another authenticator, a replayed challenge and a foreign origin', async () => {
    const username = `pk-${randomBytes(3).toString('hex')}`;
    await h.vigil.access.users.create({ username, role: 'clinician', password: PASSWORD });
    const setup = sessionOf(await call('/api/v1/auth/login', { username, password: PASSWORD }));
    const options = (await call('/api/v1/auth/passkeys/options', {}, setup)).json as {
      challenge: string;
      rp: { id: string };
    };
    const mine = new FakeAuthenticator();
    await call('/api/v1/auth/passkeys', { name: 'badge', credential: mine.create(options, origin) }, setup);

    const { ticket } = (await call('/api/v1/auth/login', { username, password: PASSWORD })).json as {
      ticket: string;
    };
    const request = (await call('/api/v1/auth/webauthn/options', { ticket })).json as {
      challenge: string;
      rpId: string;
    };
    const stranger = await call('/api/v1/auth/webauthn', {
      ticket,
      credential: new FakeAuthenticator().get(request, origin),
    });
    assert.equal(stranger.status, 401);
    const replay = await call('/api/v1/auth/webauthn', { ticket, credential: mine.get(request, origin) });
    assert.equal(replay.status, 401, 'the challenge was spent by the first answer');
    const again = (await call('/api/v1/auth/webauthn/options', { ticket })).json as {
      challenge: string;
      rpId: string;
    };
    const phished = await call('/api/v1/auth/webauthn', {
      ticket,
      credential: mine.get(again, 'https://vigil-login.example'),
    });
    assert.equal(phished.status, 401, 'an assertion made for another origin');
  });
});
