/**
 * Test support only: OCSP requests built field by field (where openssl cannot be told to make
 * a bad one), and responses read back into plain facts. The CertID hashes here are computed
 * with node:crypto from the certificate as OpenSSL reads it, independently of ocsp.ts.
 */
import assert from 'node:assert/strict';
import { createHash, X509Certificate as NodeCertificate, verify } from 'node:crypto';
import {
  BasicOCSPResponse,
  CertID,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  Request,
  TBSRequest,
} from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, CRLReasons, Extension } from '@peculiar/asn1-x509';
import { readWhole, TAG_SEQUENCE } from './der-reader.ts';

export const HASH_OIDS = {
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
} as const;

/** One certificate to ask about: its issuer's PEM and its serial (hex). */
export interface AskAbout {
  issuerPem: string;
  serialHex: string;
  hash?: keyof typeof HASH_OIDS;
}

export function certIdFor(ask: AskAbout): CertID {
  const hash = ask.hash ?? 'sha1';
  const tbs = AsnConvert.parse(new NodeCertificate(ask.issuerPem).raw, Certificate).tbsCertificate;
  const digest = (data: ArrayBuffer) => createHash(hash).update(Buffer.from(data)).digest();
  const serial = Buffer.from(ask.serialHex.length % 2 ? `0${ask.serialHex}` : ask.serialHex, 'hex');
  return new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: HASH_OIDS[hash], parameters: null }),
    issuerNameHash: new OctetString(digest(AsnConvert.serialize(tbs.subject))),
    issuerKeyHash: new OctetString(digest(tbs.subjectPublicKeyInfo.subjectPublicKey)),
    // A high bit would make the INTEGER negative: DER puts a 0x00 before it.
    serialNumber: new Uint8Array((serial[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), serial]) : serial)
      .buffer,
  });
}

/** The extnValue of an RFC 8954 nonce: an OCTET STRING holding the nonce bytes. */
export function nonceExtension(nonce: Uint8Array, critical = false): Extension {
  return new Extension({
    extnID: id_pkix_ocsp_nonce,
    critical,
    extnValue: new OctetString(AsnConvert.serialize(new OctetString(nonce))),
  });
}

export function ocspRequestDer(
  asks: readonly (AskAbout | CertID)[],
  opts: { extensions?: Extension[]; version?: number } = {},
): Buffer {
  const tbsRequest = new TBSRequest({
    requestList: asks.map((a) => new Request({ reqCert: a instanceof CertID ? a : certIdFor(a) })),
    ...(opts.version === undefined ? {} : { version: opts.version }),
    ...(opts.extensions ? { requestExtensions: opts.extensions } : {}),
  });
  return Buffer.from(AsnConvert.serialize(new OCSPRequest({ tbsRequest })));
}

export interface SingleAnswer {
  serialHex: string;
  status: 'good' | 'revoked' | 'unknown';
  revokedAtMs?: number;
  reason?: keyof typeof CRLReasons;
  thisUpdateMs: number;
  nextUpdateMs: number | undefined;
}

export interface ReadAnswer {
  status: keyof typeof OCSPResponseStatus;
  basic?: BasicOCSPResponse;
  responses: SingleAnswer[];
  /** The nonce extension's extnValue, as sent. */
  nonceValue?: Buffer;
}

/**
 * Reads a DER OCSPResponse: it must be exactly one DER value (re-encoding gives the same bytes);
 * a successful one must be a BasicOCSPResponse whose signature the issuer's key verifies.
 */
export function readOcspResponse(der: Uint8Array, issuerPem?: string): ReadAnswer {
  readWhole(der, TAG_SEQUENCE);
  const response = AsnConvert.parse(der, OCSPResponse);
  assert.deepEqual(Buffer.from(AsnConvert.serialize(response)), Buffer.from(der), 'DER, one encoding');
  const status = OCSPResponseStatus[response.responseStatus] as keyof typeof OCSPResponseStatus;
  assert.ok(status !== undefined, `responseStatus ${response.responseStatus} is one RFC 6960 defines`);
  if (response.responseBytes === undefined) {
    assert.notEqual(status, 'successful', 'a successful response has a body');
    return { status, responses: [] };
  }
  assert.equal(status, 'successful', 'only a successful response has a body (§2.3)');
  assert.equal(response.responseBytes.responseType, id_pkix_ocsp_basic);
  const basic = AsnConvert.parse(response.responseBytes.response.buffer, BasicOCSPResponse);
  if (issuerPem !== undefined) {
    const signed = (basic as BasicOCSPResponse & { tbsResponseDataRaw: ArrayBuffer }).tbsResponseDataRaw;
    const key = new NodeCertificate(issuerPem).publicKey;
    assert.ok(
      verify('sha256', Buffer.from(signed), { key, dsaEncoding: 'der' }, Buffer.from(basic.signature)),
      "the issuer's key verifies the signature",
    );
  }
  const data = basic.tbsResponseData;
  const nonce = data.responseExtensions?.find((e) => e.extnID === id_pkix_ocsp_nonce);
  return {
    status,
    basic,
    responses: data.responses.map((r) => ({
      serialHex: Buffer.from(r.certID.serialNumber)
        .toString('hex')
        .replace(/^0+(?=.)/, ''),
      status: r.certStatus.good !== undefined ? 'good' : r.certStatus.revoked ? 'revoked' : 'unknown',
      ...(r.certStatus.revoked
        ? {
            revokedAtMs: r.certStatus.revoked.revocationTime.getTime(),
            ...(r.certStatus.revoked.revocationReason
              ? {
                  reason: CRLReasons[r.certStatus.revoked.revocationReason.reason] as keyof typeof CRLReasons,
                }
              : {}),
          }
        : {}),
      thisUpdateMs: r.thisUpdate.getTime(),
      nextUpdateMs: r.nextUpdate?.getTime(),
    })),
    ...(nonce ? { nonceValue: Buffer.from(nonce.extnValue.buffer) } : {}),
  };
}
