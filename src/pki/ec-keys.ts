/**
 * ECDSA P-256 keys and the few facts about them every certificate here relies on. P-256 with
 * SHA-256 is the one suite every TLS stack and constrained device supports (RFC 5480 §4,
 * RFC 8446 §9.1), so Vigil issues and accepts nothing else.
 */
import { createPrivateKey, createPublicKey, KeyObject, randomBytes, verify, webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const P256_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

export function generateP256KeyPair(): Promise<CryptoKeyPair> {
  // Extractable so the private key can be exported once as PKCS#8 for sealing by the caller.
  return webcrypto.subtle.generateKey(P256_KEY, true, ['sign', 'verify']);
}

export function exportPkcs8Pem(privateKey: CryptoKey): string {
  return KeyObject.from(privateKey).export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** Imports a CA key for signing only; it is not extractable again once loaded. */
export function importSigningKey(pkcs8Pem: string): Promise<CryptoKey> {
  const der = createPrivateKey({ key: pkcs8Pem, format: 'pem' }).export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', der, P256_KEY, false, ['sign']);
}

/** DER SubjectPublicKeyInfo of the public half of a PKCS#8 PEM private key. */
export function publicKeyDerOf(pkcs8Pem: string): Buffer {
  return createPublicKey({ key: pkcs8Pem, format: 'pem' }).export({ format: 'der', type: 'spki' });
}

/** describePublicKey() of a P-256 key: OpenSSL's names for the key type and the curve. */
export const P256_KEY_KIND = 'ec prime256v1';

/**
 * What a DER SubjectPublicKeyInfo holds, as OpenSSL reads it (which also checks that an EC
 * point lies on its curve), e.g. 'ec prime256v1', 'rsa 2048-bit', 'ed25519'.
 */
export function describePublicKey(spkiDer: Uint8Array): string {
  try {
    const key = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
    const details = key.asymmetricKeyDetails;
    const type = key.asymmetricKeyType ?? 'of an unknown type';
    if (details?.namedCurve !== undefined) return `${type} ${details.namedCurve}`;
    if (details?.modulusLength !== undefined) return `${type} ${details.modulusLength}-bit`;
    return type;
  } catch {
    return 'unreadable';
  }
}

/**
 * ECDSA with SHA-256 checked by OpenSSL, which accepts only a DER ECDSA-Sig-Value with no
 * trailing bytes, so a signature has one valid spelling.
 */
export function isValidEcdsaSha256Signature(
  spkiDer: Uint8Array,
  data: Uint8Array,
  signatureDer: Uint8Array,
): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
    return verify('sha256', data, { key, dsaEncoding: 'der' }, signatureDer);
  } catch {
    return false;
  }
}

/**
 * A serial number as RFC 5280 §4.1.2.2 wants it: positive, at most 20 octets, unpredictable
 * (CA/Browser Forum BR §7.1 asks for at least 64 random bits). 16 random bytes with the top bit
 * cleared (positive without a 0x00 pad) and the next bit set (no leading zero byte to strip),
 * so the DER value is always exactly 16 octets, 126 of its bits random, and its hex always has
 * 32 digits that every tool prints the same way.
 */
export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex');
}
