import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  clearedSessionCookie,
  csrfTokenFromHeader,
  SESSION_COOKIE,
  sessionCookie,
  sessionIdFromCookieHeader,
} from './session-cookie.ts';

const id = () => randomBytes(32).toString('base64url');
const idArb = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => Buffer.from(b).toString('base64url'));

describe('session cookie', () => {
  it('is HttpOnly, Secure, SameSite=Strict, host-only with the __Host- prefix', () => {
    const c = sessionCookie(id(), 43_200);
    assert.match(c, /^__Host-vigil_session=[A-Za-z0-9_-]{43}; /);
    for (const attr of ['Path=/', 'Max-Age=43200', 'Secure', 'HttpOnly', 'SameSite=Strict'])
      assert.ok(c.includes(attr), attr);
    assert.ok(!/Domain=/i.test(c));
    assert.match(clearedSessionCookie(), /Max-Age=0/);
  });

  it('finds the session id among other cookies', () => {
    const s = id();
    assert.equal(sessionIdFromCookieHeader(`theme=dark; ${SESSION_COOKIE}=${s}; lang=de`), s);
    assert.equal(sessionIdFromCookieHeader(`${SESSION_COOKIE}="${s}"`), s);
  });

  it('refuses malformed values and planted duplicates', () => {
    assert.equal(sessionIdFromCookieHeader(`${SESSION_COOKIE}=short`), undefined);
    assert.equal(
      sessionIdFromCookieHeader(`${SESSION_COOKIE}=${id()}; ${SESSION_COOKIE}=${id()}`),
      undefined,
    );
    assert.equal(sessionIdFromCookieHeader(undefined), undefined);
    assert.equal(sessionIdFromCookieHeader('vigil_session=abc'), undefined);
  });

  it('round-trips any session id through Set-Cookie and Cookie', () => {
    fc.assert(
      fc.property(
        idArb,
        fc.array(fc.tuple(fc.stringMatching(/^[a-z]{1,8}$/), fc.stringMatching(/^[a-z0-9]{0,10}$/)), {
          maxLength: 4,
        }),
        (s, others) => {
          const pair = sessionCookie(s, 60).split(';')[0] as string;
          const header = [...others.map(([k, v]) => `${k}=${v}`), pair].join('; ');
          assert.equal(sessionIdFromCookieHeader(header), s);
        },
      ),
    );
  });

  it('never throws on any header, and returns only well-formed ids', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 300 }), fc.array(fc.string()), fc.constant(undefined)),
        (h) => {
          const r = sessionIdFromCookieHeader(h);
          assert.ok(r === undefined || /^[A-Za-z0-9_-]{43}$/.test(r));
          const t = csrfTokenFromHeader(h);
          assert.ok(t === undefined || /^[A-Za-z0-9_-]{43}$/.test(t));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
