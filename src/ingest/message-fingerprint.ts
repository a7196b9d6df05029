import { createHmac } from 'node:crypto';

/** The system data key (KeyRing, purpose 'system') the fingerprints are keyed with. */
export const FINGERPRINT_KEY_OWNER = 'message-fingerprint';

/** What erasure leaves in devices.last_hash: no fingerprint (43 base64url characters) equals it. */
export const ERASED_FINGERPRINT = 'erased';

/**
 * The fingerprint the replay guard compares and the store keeps for each message (staging
 * rows, devices.last_hash, redelivery_window): HMAC-SHA256 of the payload under a system data
 * key. A plain hash would undo encryption at rest: a payload is easy to guess (its seq and
 * times are stored in clear, and a glucose monitor sends one value out of a few hundred), so
 * anyone with a copy of the database could find the readings whose hash matches. ~2 µs per
 * message, against ~0.6 µs for a plain SHA-256.
 */
export function messageFingerprinter(key: Buffer): (payload: Buffer) => string {
  return (payload) => createHmac('sha256', key).update(payload).digest('base64url');
}
