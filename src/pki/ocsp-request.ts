/**
 * An OCSPRequest read (RFC 6960 §4.1.1), with the few limits a public responder needs: a size
 * cap, a cap on certificates per request, and the nonce rules of RFC 8954. Anything else wrong
 * is an OcspRequestError, which the responder answers with malformedRequest.
 *
 * A signed request is read like an unsigned one: its signature is not checked, since the
 * responder answers anyone (§4.1.2 makes request signatures optional) and a signature would
 * prove only who asked, not what is true.
 */
import { type CertID, id_pkix_ocsp_nonce, OCSPRequest } from '@peculiar/asn1-ocsp';
import { AsnConvert } from '@peculiar/asn1-schema';
import type { Extension } from '@peculiar/asn1-x509';
import { readWhole, TAG_SEQUENCE } from './der-reader.ts';

/** A request for one certificate is about 100 bytes, a signed one with its chain a few KiB. */
export const MAX_OCSP_REQUEST_BYTES = 8 * 1024;
/** Each certificate asked about is a database lookup in the answer; clients ask about one or two. */
export const MAX_OCSP_REQUEST_ENTRIES = 10;
/** RFC 8954 §2.1: a nonce of 0 or more than 32 octets is refused with malformedRequest. */
export const MAX_OCSP_NONCE_BYTES = 32;

const TAG_OCTET_STRING = 0x04;
const SHA1 = '1.3.14.3.2.26';
const SHA256 = '2.16.840.1.101.3.4.2.1';
/** RFC 5280 §4.1.2.2: conforming CAs use serials of at most 20 octets; Vigil's have 16. */
const MAX_SERIAL_OCTETS = 20;

export class OcspRequestError extends Error {
  override readonly name = 'OcspRequestError';
}

export type CertIdHash = 'sha1' | 'sha256';

export interface OcspRequestEntry {
  /** The CertID as asked; the answer repeats it (§4.2.1), whatever hash it uses. */
  certId: CertID;
  /** Its DER as the answer will carry it: what a cached answer is found by. */
  certIdDer: Buffer;
  /** The hash of issuerNameHash and issuerKeyHash, when it is one Vigil computes. */
  hash: CertIdHash | undefined;
  /** normalizeSerial() form; undefined for a serial no conforming CA issues (negative, too long). */
  serialHex: string | undefined;
}

export interface OcspRequestRead {
  entries: OcspRequestEntry[];
  /** The request's nonce extension, echoed byte for byte in the answer (RFC 8954 §2.1). */
  nonce: Extension | undefined;
}

/** Base64 of MAX_OCSP_REQUEST_BYTES, padding included. */
const MAX_GET_PATH_CHARS = Math.ceil(MAX_OCSP_REQUEST_BYTES / 3) * 4;
/** Base64, or base64url as some clients send it; padding optional (clients differ). */
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * The DER request of the GET form, `GET {url}/{url-encoding of base64 of the DER}` (RFC 6960
 * Appendix A.1), from the path after the responder's URL, already percent-decoded. Some clients
 * do not percent-encode the base64's '/' or '+', so the rest of the path is read as it is.
 */
export function ocspRequestFromGetPath(encoded: string): Uint8Array {
  if (encoded.length > MAX_GET_PATH_CHARS) {
    throw new OcspRequestError(`in the URL is ${encoded.length} characters, more than ${MAX_GET_PATH_CHARS}`);
  }
  if (!BASE64.test(encoded) || encoded.replace(/=+$/, '').length % 4 === 1) {
    throw new OcspRequestError('in the URL is not base64 (RFC 6960 Appendix A.1)');
  }
  return Buffer.from(encoded, 'base64');
}

/** Reads a DER OCSPRequest; throws OcspRequestError for anything malformed or over a limit. */
export function readOcspRequest(der: Uint8Array): OcspRequestRead {
  if (der.length > MAX_OCSP_REQUEST_BYTES) {
    throw new OcspRequestError(`is ${der.length} bytes, more than ${MAX_OCSP_REQUEST_BYTES}`);
  }
  let request: OCSPRequest;
  try {
    // The outer layer strictly (one value, nothing after it); the schema parser reads the rest.
    readWhole(der, TAG_SEQUENCE);
    request = AsnConvert.parse(der, OCSPRequest);
  } catch (cause) {
    throw new OcspRequestError(`is not a DER OCSPRequest (${String(cause).slice(0, 120)})`);
  }
  const tbs = request.tbsRequest;
  if (tbs.version !== 0) throw new OcspRequestError(`has version ${tbs.version}, not v1 (0)`);
  const count = tbs.requestList.length;
  if (count < 1 || count > MAX_OCSP_REQUEST_ENTRIES) {
    throw new OcspRequestError(`asks about ${count} certificates, not 1 to ${MAX_OCSP_REQUEST_ENTRIES}`);
  }
  const entries = tbs.requestList.map((r) => {
    refuseUnknownCritical(r.singleRequestExtensions);
    return readEntry(r.reqCert);
  });
  refuseUnknownCritical(tbs.requestExtensions);
  return { entries, nonce: nonceOf(tbs.requestExtensions) };
}

function readEntry(certId: CertID): OcspRequestEntry {
  let certIdDer: Buffer;
  try {
    // The answer serialises this CertID again: a value that cannot be is the request's fault.
    certIdDer = Buffer.from(AsnConvert.serialize(certId));
  } catch (cause) {
    throw new OcspRequestError(`has a CertID that does not encode (${String(cause).slice(0, 120)})`);
  }
  return {
    certId,
    certIdDer,
    hash: hashOf(certId),
    serialHex: serialHexOf(new Uint8Array(certId.serialNumber)),
  };
}

/** SHA-1 and SHA-256, with NULL or absent parameters (RFC 5754 §2 allows both spellings). */
function hashOf(certId: CertID): CertIdHash | undefined {
  const { algorithm, parameters } = certId.hashAlgorithm;
  const isNullOrAbsent = parameters === null || parameters === undefined;
  if (!isNullOrAbsent) return undefined;
  if (algorithm === SHA1) return 'sha1';
  if (algorithm === SHA256) return 'sha256';
  return undefined;
}

/** The INTEGER's content octets as normalizeSerial() hex, if it could be a serial Vigil issued. */
function serialHexOf(octets: Uint8Array): string | undefined {
  const isNegative = ((octets[0] ?? 0) & 0x80) !== 0;
  const magnitude = octets[0] === 0 ? octets.subarray(1) : octets;
  if (octets.length === 0 || isNegative || magnitude.length > MAX_SERIAL_OCTETS) return undefined;
  return Buffer.from(magnitude)
    .toString('hex')
    .replace(/^0+(?=.)/, '');
}

/** §4.4 leaves every request extension optional; one marked critical that Vigil does not know is refused. */
function refuseUnknownCritical(extensions: readonly Extension[] | undefined): void {
  for (const e of extensions ?? []) {
    if (e.critical && e.extnID !== id_pkix_ocsp_nonce) {
      throw new OcspRequestError(`has a critical extension ${e.extnID} this responder does not support`);
    }
  }
}

/** RFC 8954 §2.1: Nonce ::= OCTET STRING (SIZE(1..32)), itself inside the extension's OCTET STRING. */
function nonceOf(extensions: readonly Extension[] | undefined): Extension | undefined {
  const nonces = (extensions ?? []).filter((e) => e.extnID === id_pkix_ocsp_nonce);
  if (nonces.length > 1) throw new OcspRequestError('has more than one nonce extension');
  const [nonce] = nonces;
  if (nonce === undefined) return undefined;
  const value = new Uint8Array(nonce.extnValue.buffer);
  let length: number;
  try {
    const tlv = readWhole(value, TAG_OCTET_STRING);
    length = tlv.end - tlv.contentStart;
  } catch {
    throw new OcspRequestError('has a nonce that is not an OCTET STRING (RFC 8954 §2.1)');
  }
  if (length < 1 || length > MAX_OCSP_NONCE_BYTES) {
    throw new OcspRequestError(
      `has a nonce of ${length} bytes, not 1 to ${MAX_OCSP_NONCE_BYTES} (RFC 8954 §2.1)`,
    );
  }
  return nonce;
}
