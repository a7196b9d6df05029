import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { generate } from 'otplib';
import { newTotpSecret, totpUri, verifyTotp } from './totp.ts';

const T0 = Date.parse('2026-11-22T10:15:07Z');
const code = (secret: string, ms: number) => generate({ secret, epoch: Math.floor(ms / 1000) });

describe('TOTP (RFC 6238)', () => {
  it('makes a 160-bit base32 secret and an otpauth URI for a QR code', () => {
    const secret = newTotpSecret();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    const uri = new URL(totpUri(secret, 'maria.schneider'));
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'totp');
    assert.equal(uri.searchParams.get('secret'), secret);
    assert.equal(uri.searchParams.get('issuer'), 'Vigil');
  });

  it('accepts the current code and returns its time step', async () => {
    const secret = newTotpSecret();
    const step = await verifyTotp(secret, await code(secret, T0), { nowMs: T0 });
    assert.equal(step, Math.floor(T0 / 30_000));
  });

  it('accepts one step of drift either way, not two', async () => {
    const secret = newTotpSecret();
    assert.ok(await verifyTotp(secret, await code(secret, T0 - 30_000), { nowMs: T0 }));
    assert.ok(await verifyTotp(secret, await code(secret, T0 + 30_000), { nowMs: T0 }));
    assert.equal(await verifyTotp(secret, await code(secret, T0 - 90_000), { nowMs: T0 }), undefined);
    assert.equal(await verifyTotp(secret, await code(secret, T0 + 90_000), { nowMs: T0 }), undefined);
  });

  it('refuses a code of a step already used (replay)', async () => {
    const secret = newTotpSecret();
    const c = await code(secret, T0);
    const step = await verifyTotp(secret, c, { nowMs: T0 });
    assert.equal(await verifyTotp(secret, c, { nowMs: T0 + 1000, afterStep: step }), undefined);
    const next = await code(secret, T0 + 30_000);
    assert.equal(await verifyTotp(secret, next, { nowMs: T0 + 30_000, afterStep: step }), (step ?? 0) + 1);
  });

  it('refuses another secret’s code', async () => {
    const c = await code(newTotpSecret(), T0);
    assert.equal(await verifyTotp(newTotpSecret(), c, { nowMs: T0 }), undefined);
  });

  it('answers undefined, never throws, for any typed code', async () => {
    const secret = newTotpSecret();
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40 }), async (typed) => {
        const r = await verifyTotp(secret, typed, { nowMs: T0 });
        assert.ok(r === undefined || /^\d{6}$/.test(typed));
      }),
      { numRuns: 200 },
    );
  });
});
