/**
 * The CA side of enrollment (RFC 7030 §4.2 simpleenroll, minus the transport): a checked CSR
 * becomes a client certificate whose subject is exactly CN=<device id>. The caller has already
 * spent the enrollment token; this module only decides what the certificate says.
 */
import { VigilError } from '../errors/catalogue.ts';
import type { DeviceCa } from './ca-types.ts';
import { certificatePem, chainPemOf } from './certificate-authority.ts';
import { normalizeSerial } from './certificate-info.ts';
import { issueEndEntity, loadIssuingCa } from './certificate-issuance.ts';
import { canonicalSpki, verifiedCsrPublicKey } from './csr-validation.ts';
import { distinguishedName } from './distinguished-names.ts';
import { x509 } from './x509-library.ts';

/** 397 days, the longest a publicly trusted TLS certificate may have (CA/Browser Forum BR 6.3.2). */
export const DEFAULT_DEVICE_VALIDITY_DAYS = 397;
/** Ten years: the issuing CA's own lifetime, beyond which a leaf could not validate anyway. */
const MAX_DEVICE_VALIDITY_DAYS = 3650;

export interface SignedDeviceCertificate {
  certificatePem: string;
  /** Issuing CA then root, PEM; a client sends leaf + chain, the root is harmless extra. */
  chainPem: string;
  /** normalizeSerial() form, as recorded and later compared with the TLS peer's serial. */
  serialHex: string;
  notAfter: Date;
}

/**
 * Signs a device's CSR. Throws VIGIL_ERR_ENROLL_BAD_CSR for anything wrong with the request
 * or device id, and VIGIL_ERR_CONFIG_INVALID for a bad validity or an unusable CA, which are
 * the operator's to fix, not the device's.
 */
export async function signDeviceCsr(
  ca: DeviceCa,
  csrPem: string,
  deviceId: string,
  opts: {
    validityDays?: number;
    now?: Date;
    /** DER SubjectPublicKeyInfo the CSR must not carry (renewal makes a new key). */
    notKey?: Buffer;
    /** Written into the certificate as its CRL distribution point. */
    crlUrl?: string;
    /** Written into the certificate as its OCSP responder (authority information access). */
    ocspUrl?: string;
  } = {},
): Promise<SignedDeviceCertificate> {
  const validityDays = checkValidityDays(opts.validityDays ?? DEFAULT_DEVICE_VALIDITY_DAYS);
  const now = opts.now ?? new Date();
  // Canonical, so the certificate always carries the usual encoding, and the same key in
  // another encoding is still recognised as the same key.
  const publicKey = verifiedCsrPublicKey(csrPem, deviceId);
  if (opts.notKey !== undefined && canonicalSpki(opts.notKey).equals(Buffer.from(publicKey.rawData))) {
    throw new VigilError(
      'VIGIL_ERR_ENROLL_BAD_CSR',
      'the CSR carries the key of the current certificate; make a new key to renew',
    );
  }
  const cert = await issueEndEntity(await loadIssuingCa(ca, now), {
    subject: distinguishedName([['CN', deviceId]]),
    publicKey,
    extendedKeyUsage: x509.ExtendedKeyUsage.clientAuth,
    validityDays,
    now,
    ...(opts.crlUrl !== undefined ? { crlUrl: opts.crlUrl } : {}),
    ...(opts.ocspUrl !== undefined ? { ocspUrl: opts.ocspUrl } : {}),
  });
  return {
    certificatePem: certificatePem(cert),
    chainPem: chainPemOf(ca),
    serialHex: normalizeSerial(cert.serialNumber),
    notAfter: cert.notAfter,
  };
}

function checkValidityDays(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > MAX_DEVICE_VALIDITY_DAYS) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `device certificate validity of ${days} days is not a whole number from 1 to ${MAX_DEVICE_VALIDITY_DAYS}`,
    );
  }
  return days;
}
