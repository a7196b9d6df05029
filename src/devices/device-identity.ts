import type { TLSSocket } from 'node:tls';
import { VigilError } from '../errors/catalogue.ts';
import { isValidId } from '../errors/ids.ts';
import { normalizeSerial } from '../pki/index.ts';
import type { DeviceDirectory } from './device-directory.ts';

/**
 * A device is who its certificate says, and only if: TLS verified the chain to the Vigil
 * device CA, Vigil issued that very certificate (serial on record) to the device named in its
 * CN, the certificate is not revoked, and the device is not quarantined.
 */
export function identifyDevice(socket: TLSSocket, directory: DeviceDirectory): string {
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
