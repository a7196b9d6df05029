/**
 * A PKCS#10 request taken apart byte for byte (RFC 2986 §4.1):
 *
 *   CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature BIT STRING }
 *   CertificationRequestInfo ::= SEQUENCE { version INTEGER (0), subject Name,
 *                                           subjectPKInfo SubjectPublicKeyInfo, attributes [0] }
 *
 * The signature is then checked over exactly `signedBytes`, and the key and name that Vigil
 * uses are read from those same bytes, so nothing unsigned can change what is issued.
 */
import {
  DerError,
  expectTags,
  readChildren,
  readWhole,
  TAG_BIT_STRING,
  TAG_CONTEXT_0_CONSTRUCTED,
  TAG_INTEGER,
  TAG_SEQUENCE,
} from './der-reader.ts';

export interface CertificationRequestParts {
  signedBytes: Buffer;
  subjectDer: Buffer;
  subjectPublicKeyInfoDer: Buffer;
  signatureAlgorithmDer: Buffer;
  /** The BIT STRING's content after its unused-bits octet: for ECDSA, a DER ECDSA-Sig-Value. */
  signature: Buffer;
}

const VERSION_1 = Buffer.from([TAG_INTEGER, 0x01, 0x00]);

/** Throws DerError when `der` is not exactly one well-formed CertificationRequest. */
export function splitCertificationRequest(der: Buffer): CertificationRequestParts {
  const request = readWhole(der, TAG_SEQUENCE);
  const outer = readChildren(der, request);
  expectTags(outer, [TAG_SEQUENCE, TAG_SEQUENCE, TAG_BIT_STRING], 'a PKCS#10 CertificationRequest');
  const [info, algorithm, signature] = outer as [typeof request, typeof request, typeof request];
  const fields = readChildren(der, info);
  expectTags(
    fields,
    [TAG_INTEGER, TAG_SEQUENCE, TAG_SEQUENCE, TAG_CONTEXT_0_CONSTRUCTED],
    'a CertificationRequestInfo',
  );
  const [version, subject, publicKeyInfo] = fields as [typeof request, typeof request, typeof request];
  const bytes = (tlv: typeof request) => der.subarray(tlv.start, tlv.end);
  if (!bytes(version).equals(VERSION_1)) throw new DerError('has a version other than v1 (0)');
  // A signature is whole octets; a non-zero unused-bits count is a second spelling of it.
  if (der[signature.contentStart] !== 0x00) throw new DerError('has a signature BIT STRING with unused bits');
  return {
    signedBytes: bytes(info),
    subjectDer: bytes(subject),
    subjectPublicKeyInfoDer: bytes(publicKeyInfo),
    signatureAlgorithmDer: bytes(algorithm),
    signature: der.subarray(signature.contentStart + 1, signature.end),
  };
}
