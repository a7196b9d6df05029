/**
 * The device CA's certificate revocation list (RFC 5280 §5). Vigil's own gateway refuses a
 * revoked certificate from its database at every connection; a CRL carries the same list to
 * relying parties that cannot read that database: an external MQTT broker (Mosquitto's
 * `crlfile`, EMQX, HiveMQ), a reverse proxy, or an auditor checking a certificate by hand.
 *
 * Profile: v2 CRL signed by the issuing CA (which signed every device certificate, so a
 * verifier's CRL check of a leaf finds it), ecdsa-with-SHA256, authority key identifier and a
 * CRL number (both required by §5.2), one entry per revoked certificate that has not yet
 * expired (§3.3 lets a CA drop an entry once the certificate expires), with its revocation
 * date and, for a certificate replaced by re-enrolment, reason `superseded`.
 */
import { VigilError } from '../errors/catalogue.ts';
import type { DeviceCa } from './ca-types.ts';
import { authorityKeyIdentifierFor } from './certificate-authority.ts';
import { loadIssuingCa } from './certificate-issuance.ts';
import { ECDSA_SHA256 } from './ec-keys.ts';
import { encodePem } from './pem.ts';
import { x509 } from './x509-library.ts';

/** How long a relying party may use a CRL before it must fetch a new one. */
export const CRL_VALIDITY_MS = 24 * 3_600_000;

const CRL_NUMBER_OID = '2.5.29.20';

export interface RevokedCertificate {
  /** Serial as stored (normalizeSerial: lowercase hex, no leading zeros). */
  serial: string;
  revokedAtMs: number;
  notAfterMs: number;
  /** Vigil's own reason text; only 'superseded' maps to an RFC 5280 reason code. */
  reason: string | null;
}

export interface CrlOptions {
  nowMs: number;
  /** Strictly increasing across the CRLs one CA issues (§5.2.3). */
  crlNumber: bigint;
  validityMs?: number;
}

/** Builds and signs the CRL: its DER and how many certificates it lists. */
export async function buildCrl(
  ca: DeviceCa,
  revoked: readonly RevokedCertificate[],
  opts: CrlOptions,
): Promise<{ der: Buffer; entries: number }> {
  if (opts.crlNumber < 0n || opts.crlNumber >= 1n << 159n) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      'a CRL number must be a non-negative integer below 2^159',
    );
  }
  const now = new Date(opts.nowMs);
  const issuer = await loadIssuingCa(ca, now);
  const entries: x509.X509CrlEntryParams[] = revoked
    .filter((c) => c.notAfterMs > opts.nowMs)
    .sort((a, b) => a.revokedAtMs - b.revokedAtMs || a.serial.localeCompare(b.serial))
    .map((c) => ({
      serialNumber: evenHex(c.serial),
      revocationDate: new Date(c.revokedAtMs),
      ...(c.reason === 'superseded' ? { reason: x509.X509CrlReason.superseded } : {}),
    }));
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.cert.subjectName,
    thisUpdate: now,
    nextUpdate: new Date(opts.nowMs + (opts.validityMs ?? CRL_VALIDITY_MS)),
    signingAlgorithm: ECDSA_SHA256,
    signingKey: issuer.key,
    extensions: [
      authorityKeyIdentifierFor(issuer.cert),
      new x509.Extension(CRL_NUMBER_OID, false, derInteger(opts.crlNumber)),
    ],
    entries,
  });
  return { der: Buffer.from(crl.rawData), entries: entries.length };
}

export function crlToPem(der: Buffer): string {
  return encodePem(der, 'X509 CRL');
}

/** Stored serials drop leading zeros; the generator wants whole bytes. */
function evenHex(serial: string): string {
  return serial.length % 2 === 0 ? serial : `0${serial}`;
}

/** DER INTEGER of a non-negative value: big-endian, shortest form, a 0x00 before a high bit. */
export function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  let body = Buffer.from(hex, 'hex');
  if ((body[0] as number) & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return Buffer.concat([Buffer.from([0x02, body.length]), body]);
}
