import type { PeerCertificate, TLSSocket } from 'node:tls';
import { VigilError } from '../errors/catalogue.ts';
import { isValidId } from '../errors/ids.ts';
import { normalizeSerial } from '../pki/index.ts';
import type { DeviceDirectory } from './device-directory.ts';

/** A certificate's validity period in epoch ms; NaN for a date that does not parse. */
export interface CertificateValidity {
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
}

export function certificateValidity(
  cert: Pick<PeerCertificate, 'valid_from' | 'valid_to'>,
): CertificateValidity {
  return { notBeforeMs: Date.parse(cert.valid_from), notAfterMs: Date.parse(cert.valid_to) };
}

/**
 * A device is who its certificate says, and only if: TLS verified the chain to the Vigil
 * device CA, the certificate is within its validity period now, Vigil issued that very
 * certificate (serial on record) to the device named in its CN, the certificate is not
 * revoked, and the device is not quarantined.
 */
export function identifyDevice(socket: TLSSocket, directory: DeviceDirectory, nowMs = Date.now()): string {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) {
    throw new VigilError(
      'VIGIL_ERR_TLS_NO_CERT',
      'no client certificate was presented; enrol the device with "vigil device enroll"',
    );
  }
  if (!socket.authorized) {
    throw new VigilError(
      'VIGIL_ERR_TLS_BAD_CERT',
      `client certificate refused: ${String(socket.authorizationError ?? 'not issued by the Vigil device CA')}`,
    );
  }
  const cn = cert.subject?.CN;
  const deviceId = Array.isArray(cn) ? undefined : cn;
  if (deviceId === undefined || !isValidId(deviceId)) {
    throw new VigilError('VIGIL_ERR_TLS_BAD_CERT', 'client certificate has no valid device id in its CN');
  }
  // OpenSSL checks the dates only in a full handshake: a kept-alive HTTPS socket or a resumed
  // TLS session (ticket) would carry a certificate past its notAfter. RFC 5280 §4.1.2.5: valid
  // from notBefore through notAfter; RFC 7030 §4.2.2 re-enrolment needs a currently valid one.
  const { notBeforeMs, notAfterMs } = certificateValidity(cert);
  if (!(nowMs >= notBeforeMs && nowMs <= notAfterMs)) {
    throw new VigilError(
      'VIGIL_ERR_TLS_BAD_CERT',
      `the certificate of device ${deviceId} is valid from ${cert.valid_from} to ${cert.valid_to}, not now; enrol it again with a new token ("vigil device token --id ${deviceId}")`,
    );
  }
  const standing = directory.certificateStanding(normalizeSerial(cert.serialNumber), deviceId);
  if (standing === 'revoked')
    throw new VigilError('VIGIL_ERR_TLS_REVOKED', `the certificate of device ${deviceId} has been revoked`);
  if (standing === 'unknown')
    throw new VigilError(
      'VIGIL_ERR_TLS_BAD_CERT',
      `the certificate presented for ${deviceId} is not on record`,
    );
  if (directory.isQuarantined(deviceId)) {
    throw new VigilError('VIGIL_ERR_DEVICE_QUARANTINED', `device ${deviceId} is quarantined`);
  }
  return deviceId;
}
