/**
 * What a device's PKCS#10 request (RFC 2986) must be before Vigil signs anything for it. The
 * request proves possession of the key (its self-signature, RFC 7030 §3.4 calls it proof of
 * possession) and names the device; it is trusted for nothing else. Requested extensions and
 * attributes are never read, let alone copied: a device asking for CA:true or a server name
 * gets a plain client certificate.
 */
import { createPublicKey } from 'node:crypto';
import { isVigilError, VigilError } from '../errors/catalogue.ts';
import { isValidId } from '../errors/ids.ts';
import { splitCertificationRequest } from './csr-structure.ts';
import { describePublicKey, isValidEcdsaSha256Signature, P256_KEY_KIND } from './ec-keys.ts';
import { decodeSinglePem } from './pem.ts';
import { x509 } from './x509-library.ts';

/**
 * A P-256 CSR in PEM is about 500 characters; 16 KiB leaves room for verbose encoders and
 * attributes while keeping the work small on hostile input.
 */
export const MAX_CSR_PEM_CHARS = 16 * 1024;
/** RFC 7468 §7: "NEW CERTIFICATE REQUEST" is still produced by some tools and means the same. */
const CSR_LABELS = ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'] as const;
/** AlgorithmIdentifier for ecdsa-with-SHA256 with parameters absent, as RFC 5758 §3.2 requires. */
const ECDSA_WITH_SHA256_DER = Buffer.from('300a06082a8648ce3d040302', 'hex');

function refuse(detail: string, cause?: unknown): never {
  throw new VigilError('VIGIL_ERR_ENROLL_BAD_CSR', detail, cause === undefined ? undefined : { cause });
}

/** Returns the verified public key of a CSR for `deviceId`; throws VIGIL_ERR_ENROLL_BAD_CSR only. */
export function verifiedCsrPublicKey(csrPem: unknown, deviceId: unknown): x509.PublicKey {
  if (typeof deviceId !== 'string' || !isValidId(deviceId)) {
    refuse('the device id is not valid (1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit)');
  }
  if (typeof csrPem !== 'string') refuse('the CSR is missing; send a PEM PKCS#10 certificate request');
  try {
    const csr = splitCertificationRequest(decodeSinglePem(csrPem, CSR_LABELS, MAX_CSR_PEM_CHARS));
    const keyKind = describePublicKey(csr.subjectPublicKeyInfoDer);
    if (keyKind !== P256_KEY_KIND) {
      refuse(
        `the CSR key is ${keyKind}; Vigil accepts only ECDSA P-256 keys: make a P-256 key and a new CSR`,
      );
    }
    if (!csr.signatureAlgorithmDer.equals(ECDSA_WITH_SHA256_DER)) {
      refuse('the CSR is not signed with ecdsa-with-SHA256; sign it with its own P-256 key using SHA-256');
    }
    if (!isValidEcdsaSha256Signature(csr.subjectPublicKeyInfoDer, csr.signedBytes, csr.signature)) {
      refuse(
        'the CSR signature does not match its content and key (altered or mis-signed); make a new CSR signed by the device key',
      );
    }
    checkCommonName(new x509.Name(csr.subjectDer), deviceId);
    return new x509.PublicKey(canonicalSpki(csr.subjectPublicKeyInfoDer));
  } catch (e) {
    if (isVigilError(e)) throw e;
    // Hostile bytes meet the decoders here; whatever they throw, the answer is the same refusal.
    const why =
      e instanceof Error && (e.name === 'PemError' || e.name === 'DerError')
        ? `the CSR ${e.message}`
        : 'the CSR cannot be read';
    refuse(`${why}; send one PEM "CERTIFICATE REQUEST" as made by "vigil device enroll" or openssl req`, e);
  }
}

/**
 * One spelling of a public key as DER SubjectPublicKeyInfo: named curve and uncompressed point
 * (RFC 5480 §2.1.1 and §2.2, which is what Vigil issues). A P-256 key may also arrive with a
 * compressed point or with the curve's parameters written out; byte for byte those differ from
 * the same key in its usual form, so "is this a new key?" compares canonical forms only. The
 * JWK round trip is what forgets the encoding: JWK holds just the curve name and x, y.
 */
export function canonicalSpki(spkiDer: Uint8Array): Buffer {
  const jwk = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' }).export({
    format: 'jwk',
  });
  return createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' });
}

/** The CN names the device; a second CN would leave room to argue about which one counts. */
function checkCommonName(subject: x509.Name, deviceId: string): void {
  const names = subject.getField('CN');
  if (names.length !== 1) {
    refuse(`the CSR subject has ${names.length} common names; it needs exactly one, CN=${deviceId}`);
  }
  if (names[0] !== deviceId) {
    refuse(
      `the CSR subject CN ${JSON.stringify(names[0]?.slice(0, 64))} is not the device id; make the CSR with CN=${deviceId}`,
    );
  }
}
