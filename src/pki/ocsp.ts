/**
 * The device CA's OCSP responder (RFC 6960), without the store: the caller passes a lookup of
 * the certificates Vigil issued. It carries the same facts as the CRL (crl.ts), one certificate
 * at a time and as of the moment asked, for relying parties that prefer OCSP to downloading the
 * whole list (an external broker, a reverse proxy, an auditor).
 *
 * Profile: BasicOCSPResponse signed by the issuing CA itself, which issued every certificate it
 * answers for, so no delegated responder certificate is needed (§4.2.2.2) and none is included
 * (the client already holds the issuer: it hashed it into its request); ecdsa-with-SHA256;
 * responderID byKey (SHA-1 of the issuing CA's public key, §4.2.2.3); producedAt, thisUpdate
 * now and nextUpdate an hour later; the request's nonce echoed (RFC 8954). Per certificate:
 * good, revoked (its time, and reason superseded for one replaced by re-enrolment, as in the
 * CRL), or unknown (not issued by Vigil's issuing CA, or asked with a hash Vigil does not
 * compute). Never throws: a bad request gets malformedRequest, a failing store or key
 * internalError, both unsigned as §2.3 requires.
 */
import { createHash, KeyObject, sign } from 'node:crypto';
import {
  BasicOCSPResponse,
  CertStatus,
  id_pkix_ocsp_basic,
  OCSPResponse,
  OCSPResponseStatus,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
} from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, CRLReason, CRLReasons, type Extension } from '@peculiar/asn1-x509';
import type { DeviceCa } from './ca-types.ts';
import { loadIssuingCa } from './certificate-issuance.ts';
import { type CertIdHash, type OcspRequestEntry, OcspRequestError, readOcspRequest } from './ocsp-request.ts';

/**
 * How long a relying party may rely on an answer (nextUpdate - thisUpdate). Answers are signed
 * live, so this bounds only caching: a revocation reaches a relying party that caches answers
 * within this time (a CRL holder waits up to CRL_VALIDITY_MS, a day). An hour also matches how
 * often the CRL is signed again, and keeps repeated checks of a busy broker's clients cheap.
 */
export const OCSP_VALIDITY_MS = 3_600_000;

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

/** The issuing CA as a responder: its key, and the hashes a CertID must carry to name it. */
export interface OcspSigner {
  key: KeyObject;
  notAfterMs: number;
  /** SHA-1 of the issuing CA's subjectPublicKey bits (§4.2.2.3 KeyHash). */
  responderKeyHash: Buffer;
  /** issuerNameHash and issuerKeyHash of the issuing CA, per hash (§4.1.1 CertID). */
  certIdHashes: Record<CertIdHash, { name: Buffer; key: Buffer }>;
}

/** What the store knows of a certificate Vigil issued; a serial it does not know is unknown. */
export interface IssuedCertificateStatus {
  /** null while the certificate is not revoked. */
  revokedAtMs: number | null;
  /** Vigil's own reason text; only 'superseded' maps to an RFC 5280 reason code. */
  reason: string | null;
}

export type CertificateStatusLookup = (
  serials: readonly string[],
) => Promise<ReadonlyMap<string, IssuedCertificateStatus>>;

export type OcspResponseStatusName = 'successful' | 'malformedRequest' | 'internalError';
export type OcspCertStatusName = 'good' | 'revoked' | 'unknown';

export interface OcspAnswer {
  /** DER OCSPResponse, always: served with 200 whatever its status (RFC 6960 Appendix A.1). */
  der: Buffer;
  responseStatus: OcspResponseStatusName;
  /** One per certificate asked about, in request order; empty unless successful. */
  certStatuses: OcspCertStatusName[];
  /** When a successful answer was made and stops being valid, for HTTP caching of GET answers. */
  thisUpdateMs?: number;
  nextUpdateMs?: number;
  /** Why the request was refused or failed, for the log; never sent. */
  problem?: string;
  cause?: unknown;
}

/** Loads the issuing CA as a responder; throws VIGIL_ERR_CONFIG_INVALID as loadIssuingCa does. */
export async function loadOcspSigner(ca: DeviceCa, now: Date): Promise<OcspSigner> {
  const issuer = await loadIssuingCa(ca, now);
  const tbs = AsnConvert.parse(issuer.cert.rawData, Certificate).tbsCertificate;
  // Both hashes are over the issuing CA's own encoding: its subject Name DER, and the BIT
  // STRING value of its public key without tag, length and unused-bits octet (§4.1.1).
  const nameDer = Buffer.from(AsnConvert.serialize(tbs.subject));
  const keyBits = Buffer.from(tbs.subjectPublicKeyInfo.subjectPublicKey);
  const digest = (hash: CertIdHash, data: Buffer) => createHash(hash).update(data).digest();
  return {
    key: KeyObject.from(issuer.key),
    notAfterMs: issuer.cert.notAfter.getTime(),
    responderKeyHash: digest('sha1', keyBits),
    certIdHashes: {
      sha1: { name: digest('sha1', nameDer), key: digest('sha1', keyBits) },
      sha256: { name: digest('sha256', nameDer), key: digest('sha256', keyBits) },
    },
  };
}

/**
 * A request read and matched against the issuing CA: all an answer depends on besides the
 * store's statuses and the clock.
 */
export interface OcspQuestion {
  entries: OcspRequestEntry[];
  /** Echoed when present (RFC 8954); an answer carrying it serves this one request only. */
  nonce: Extension | undefined;
  /** Per entry, the serial to look up; undefined where the CertID does not name Vigil's issuing CA. */
  ours: (string | undefined)[];
  /** The serials to look up, each once. */
  serials: string[];
  /**
   * The CertIDs exactly as asked, in order (their DER, concatenated: DER delimits itself, so two
   * lists give one key only if they are equal). Without a nonce, requests with one key get the
   * same answer for the same statuses, whatever else they carry (a requestorName, a signature,
   * non-critical extensions), so they may share one signed answer.
   */
  cacheKey: string;
}

/** Reads a request for this signer: the question, or the unsigned malformedRequest to send. */
export function readOcspQuestion(
  requestDer: Uint8Array,
  signer: OcspSigner,
): { question: OcspQuestion } | { refused: OcspAnswer } {
  let request: ReturnType<typeof readOcspRequest>;
  try {
    request = readOcspRequest(requestDer);
  } catch (cause) {
    const problem = cause instanceof OcspRequestError ? `the OCSP request ${cause.message}` : String(cause);
    return { refused: { ...unsignedAnswer('malformedRequest'), problem, cause } };
  }
  const ours = request.entries.map((e) => (isIssuedByUs(e, signer) ? e.serialHex : undefined));
  return {
    question: {
      entries: request.entries,
      nonce: request.nonce,
      ours,
      serials: [...new Set(ours.filter((s) => s !== undefined))],
      cacheKey: Buffer.concat(request.entries.map((e) => e.certIdDer)).toString('base64'),
    },
  };
}

/** The store's statuses of a question's serials; no store call when no CertID names Vigil's CA. */
export async function lookUpStatuses(
  serials: readonly string[],
  lookup: CertificateStatusLookup,
): Promise<ReadonlyMap<string, IssuedCertificateStatus>> {
  return serials.length === 0 ? new Map() : lookup(serials);
}

/** Answers one DER OCSPRequest. Never throws; see OcspAnswer. */
export async function answerOcspRequest(
  requestDer: Uint8Array,
  signer: OcspSigner,
  lookup: CertificateStatusLookup,
  opts: { nowMs: number; validityMs?: number },
): Promise<OcspAnswer> {
  const read = readOcspQuestion(requestDer, signer);
  if ('refused' in read) return read.refused;
  let statuses: ReadonlyMap<string, IssuedCertificateStatus>;
  try {
    statuses = await lookUpStatuses(read.question.serials, lookup);
  } catch (cause) {
    return internalError(cause);
  }
  return signOcspAnswer(read.question, signer, statuses, opts);
}

/**
 * Signs the answer to a question, given the store's statuses of its serials (a serial absent
 * from them is unknown). Never throws: a key that cannot sign gives internalError.
 */
export function signOcspAnswer(
  question: OcspQuestion,
  signer: OcspSigner,
  statuses: ReadonlyMap<string, IssuedCertificateStatus>,
  opts: { nowMs: number; validityMs?: number },
): OcspAnswer {
  try {
    // GeneralizedTime in whole seconds, as RFC 5280 §4.1.2.5.2 asks of certificates.
    const nowMs = Math.floor(opts.nowMs / 1000) * 1000;
    if (nowMs >= signer.notAfterMs) throw new Error('the issuing CA has expired; rotate the device CA');
    const nextUpdateMs = nowMs + (opts.validityMs ?? OCSP_VALIDITY_MS);
    const responses = question.entries.map((entry, i) => {
      const serial = question.ours[i];
      const issued = serial === undefined ? undefined : statuses.get(serial);
      return singleResponse(entry, issued, { nowMs, nextUpdateMs });
    });
    const data = new ResponseData({
      responderID: new ResponderID({ byKey: new OctetString(signer.responderKeyHash) }),
      producedAt: new Date(nowMs),
      responses: responses.map((r) => r.single),
      ...(question.nonce ? { responseExtensions: [question.nonce] } : {}),
    });
    return {
      der: signedResponse(data, signer.key),
      responseStatus: 'successful',
      certStatuses: responses.map((r) => r.status),
      thisUpdateMs: nowMs,
      nextUpdateMs,
    };
  } catch (cause) {
    return internalError(cause);
  }
}

function internalError(cause: unknown): OcspAnswer {
  return { ...unsignedAnswer('internalError'), problem: 'the OCSP answer could not be made', cause };
}

/** An OCSPResponse with only a status: malformedRequest and internalError carry no signed body (§2.3). */
export function unsignedAnswer(status: Exclude<OcspResponseStatusName, 'successful'>): OcspAnswer {
  const der = Buffer.from(
    AsnConvert.serialize(new OCSPResponse({ responseStatus: OCSPResponseStatus[status] })),
  );
  return { der, responseStatus: status, certStatuses: [] };
}

/** The CertID names the issuing CA, with a hash Vigil computes, and a serial it could have issued. */
function isIssuedByUs(entry: OcspRequestEntry, signer: OcspSigner): boolean {
  if (entry.hash === undefined || entry.serialHex === undefined) return false;
  const expected = signer.certIdHashes[entry.hash];
  return (
    expected.name.equals(Buffer.from(entry.certId.issuerNameHash.buffer)) &&
    expected.key.equals(Buffer.from(entry.certId.issuerKeyHash.buffer))
  );
}

function singleResponse(
  entry: OcspRequestEntry,
  issued: IssuedCertificateStatus | undefined,
  times: { nowMs: number; nextUpdateMs: number },
): { single: SingleResponse; status: OcspCertStatusName } {
  let certStatus: CertStatus;
  let status: OcspCertStatusName;
  if (issued === undefined) {
    certStatus = new CertStatus({ unknown: null });
    status = 'unknown';
  } else if (issued.revokedAtMs === null) {
    certStatus = new CertStatus({ good: null });
    status = 'good';
  } else {
    certStatus = new CertStatus({
      revoked: new RevokedInfo({
        revocationTime: new Date(Math.floor(issued.revokedAtMs / 1000) * 1000),
        ...(issued.reason === 'superseded' ? { revocationReason: new CRLReason(CRLReasons.superseded) } : {}),
      }),
    });
    status = 'revoked';
  }
  const single = new SingleResponse({
    certID: entry.certId,
    certStatus,
    thisUpdate: new Date(times.nowMs),
    nextUpdate: new Date(times.nextUpdateMs),
  });
  return { single, status };
}

function signedResponse(data: ResponseData, key: KeyObject): Buffer {
  const tbs = Buffer.from(AsnConvert.serialize(data));
  // X.509 and OCSP carry ECDSA signatures as a DER ECDSA-Sig-Value (RFC 5480 §2.2 via RFC 6960 §4.2.1).
  const signature = sign('sha256', tbs, { key, dsaEncoding: 'der' });
  const basic = new BasicOCSPResponse({
    tbsResponseData: data,
    // RFC 5758 §3.2: ecdsa-with-SHA256 has no parameters.
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }),
    signature: new Uint8Array(signature).buffer,
  });
  const response = new OCSPResponse({
    responseStatus: OCSPResponseStatus.successful,
    responseBytes: new ResponseBytes({
      responseType: id_pkix_ocsp_basic,
      response: new OctetString(AsnConvert.serialize(basic)),
    }),
  });
  return Buffer.from(AsnConvert.serialize(response));
}
