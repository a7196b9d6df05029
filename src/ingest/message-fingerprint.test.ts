import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ERASED_FINGERPRINT, messageFingerprinter } from './message-fingerprint.ts';

describe('message fingerprints', () => {
  const key = randomBytes(32);
  const fingerprint = messageFingerprinter(key);

  it('is the same for the same payload, and not the plain hash anyone could recompute', () => {
    const payload = Buffer.from('{"seq":7,"ts":"2026-11-27T10:00:00Z","readings":[]}');
    assert.equal(fingerprint(payload), fingerprint(Buffer.from(payload)));
    assert.notEqual(fingerprint(payload), createHash('sha256').update(payload).digest('base64url'));
    assert.notEqual(fingerprint(payload), messageFingerprinter(randomBytes(32))(payload));
  });

  it('tells payloads apart and never equals the erasure marker', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.uint8Array({ maxLength: 512 }), (a, b) => {
        const fa = fingerprint(Buffer.from(a));
        assert.match(fa, /^[A-Za-z0-9_-]{43}$/);
        assert.notEqual(fa, ERASED_FINGERPRINT);
        if (!Buffer.from(a).equals(Buffer.from(b))) assert.notEqual(fa, fingerprint(Buffer.from(b)));
      }),
    );
  });
});
