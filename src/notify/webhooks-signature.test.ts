import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { newWebhookSecret, signWebhook, verifyWebhook } from './webhooks-signature.ts';

/** The receiver's side, written from the Standard Webhooks spec, not from our signer. */
function independentSignature(secret: string, id: string, ts: number, body: string): string {
  const key = Buffer.from(secret.split('_')[1] ?? '', 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${ts}.${body}`, 'utf8').digest('base64')}`;
}

const deliveryId = fc.stringMatching(/^msg_[0-9a-f]{24}$/);
const timestamp = fc.integer({ min: 0, max: 4_102_444_800 });

describe('webhook signatures (Standard Webhooks)', () => {
  it('makes whsec_ secrets of 32 random bytes, different every time', () => {
    const a = newWebhookSecret();
    assert.match(a, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(a.slice(6), 'base64').length, 32);
    assert.notEqual(a, newWebhookSecret());
  });

  it('signs exactly what an independent receiver computes, for any body', () => {
    fc.assert(
      fc.property(deliveryId, timestamp, fc.string({ unit: 'binary' }), (id, ts, body) => {
        const secret = newWebhookSecret();
        assert.equal(signWebhook(secret, id, ts, body), independentSignature(secret, id, ts, body));
      }),
    );
  });

  it('verifies its own signatures and refuses any change to id, time, body or secret', () => {
    fc.assert(
      fc.property(deliveryId, timestamp, fc.string(), fc.string({ minLength: 1 }), (id, ts, body, extra) => {
        const secret = newWebhookSecret();
        const signature = signWebhook(secret, id, ts, body);
        const headers = { id, timestamp: String(ts), signature };
        assert.ok(verifyWebhook(secret, headers, body));
        assert.ok(!verifyWebhook(secret, headers, body + extra));
        assert.ok(!verifyWebhook(secret, { ...headers, timestamp: String(ts + 1) }, body));
        assert.ok(!verifyWebhook(secret, { ...headers, id: `${id}x` }, body));
        assert.ok(!verifyWebhook(newWebhookSecret(), headers, body));
      }),
    );
  });

  it('accepts a header listing several signatures when one matches (secret rotation)', () => {
    const secret = newWebhookSecret();
    const signature = `${signWebhook(newWebhookSecret(), 'msg_1', 5, '{}')} ${signWebhook(secret, 'msg_1', 5, '{}')}`;
    assert.ok(verifyWebhook(secret, { id: 'msg_1', timestamp: '5', signature }, '{}'));
  });
});
