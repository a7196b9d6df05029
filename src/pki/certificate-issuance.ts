/**
 * End-entity certificates from the issuing CA, with one fixed profile (RFC 5280 §4.2):
 * not a CA, digitalSignature only (ECDHE does the key exchange), one extended key usage, and
 * key identifiers both ways. Nothing a requester asks for reaches the certificate except the
 * public key: the subject, names and usages are all decided here.
 */
import type { webcrypto } from 'node:crypto';
import { VigilError } from '../errors/catalogue.ts';
import type { DeviceCa } from './ca-types.ts';
import { authorityKeyIdentifierFor } from './certificate-authority.ts';
import { ECDSA_SHA256, importSigningKey, publicKeyDerOf, randomSerialHex } from './ec-keys.ts';
import { capAt, validityForDays } from './validity.ts';
import { x509 } from './x509-library.ts';

export interface IssuingCa {
  cert: x509.X509Certificate;
  key: webcrypto.CryptoKey;
}

/**
 * Loads the issuing CA and checks its key belongs to its certificate: a root key stored in the
 * issuing slot would otherwise sign leaves that no client can verify, found only in the field.
 */
export async function loadIssuingCa(ca: DeviceCa, now: Date): Promise<IssuingCa> {
  let cert: x509.X509Certificate;
  let keyMatches: boolean;
  try {
    cert = new x509.X509Certificate(ca.issuing.certPem);
    keyMatches = publicKeyDerOf(ca.issuing.keyPkcs8Pem).equals(Buffer.from(cert.publicKey.rawData));
  } catch (cause) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      'the issuing CA certificate or key does not parse; restore the PKI from backup',
      { cause },
    );
  }
  if (!keyMatches) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      'the issuing CA key does not belong to the issuing CA certificate; restore the PKI from backup',
    );
  }
  if (now >= cert.notAfter) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `the issuing CA expired on ${cert.notAfter.toISOString()}; rotate the device CA`,
    );
  }
  return { cert, key: await importSigningKey(ca.issuing.keyPkcs8Pem) };
}

export interface EndEntityRequest {
  subject: x509.Name;
  publicKey: x509.PublicKey;
  extendedKeyUsage: x509.ExtendedKeyUsage;
  validityDays: number;
  now: Date;
  subjectAltNames?: x509.JsonGeneralNames;
  /**
   * Where relying parties fetch the issuer's revocation list (RFC 5280 §4.2.1.13). A
   * certificate keeps it for its whole life, so only an address the operator configured goes
   * in, never one guessed from the listening socket.
   */
  crlUrl?: string;
  /**
   * Where relying parties ask the issuer's OCSP responder, in a non-critical authority
   * information access extension (RFC 5280 §4.2.2.1); configured addresses only, as crlUrl.
   */
  ocspUrl?: string;
}

export async function issueEndEntity(
  issuer: IssuingCa,
  request: EndEntityRequest,
): Promise<x509.X509Certificate> {
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([request.extendedKeyUsage], false),
    await x509.SubjectKeyIdentifierExtension.create(request.publicKey),
    authorityKeyIdentifierFor(issuer.cert),
  ];
  if (request.subjectAltNames !== undefined) {
    extensions.push(new x509.SubjectAlternativeNameExtension(request.subjectAltNames, false));
  }
  if (request.crlUrl !== undefined) {
    extensions.push(new x509.CRLDistributionPointsExtension([request.crlUrl], false));
  }
  if (request.ocspUrl !== undefined) {
    extensions.push(new x509.AuthorityInfoAccessExtension({ ocsp: [request.ocspUrl] }, false));
  }
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    issuer: issuer.cert.subjectName,
    subject: request.subject,
    publicKey: request.publicKey,
    signingKey: issuer.key,
    signingAlgorithm: ECDSA_SHA256,
    ...capAt(validityForDays(request.now, request.validityDays), issuer.cert.notAfter),
    extensions,
  });
}
