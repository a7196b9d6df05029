import type { AuditLog } from '../audit/audit-log.ts';
import { VigilError } from '../errors/catalogue.ts';
import { isValidId } from '../errors/ids.ts';
import { certificateInfo, type DeviceCa, signDeviceCsr } from '../pki/index.ts';
import type { DeviceStore } from './devices.store.ts';

/**
 * Certificates a device may get in a day, its enrolment included, before renewal is refused.
 * Each renewal leaves the old certificate on the revocation list until it expires (397 days
 * by default), so a device renewing in a loop would grow the CRL every relying party loads.
 */
const CERTIFICATES_PER_DAY = 5;
const DAY_MS = 24 * 3_600_000;

export interface EnrollRequest {
  deviceId: string;
  token: string;
  csr: string;
}

/**
 * EST-like enrollment (after RFC 7030 §4.2 simpleenroll): a one-time, expiring token proves
 * the device is the one an administrator registered; the CSR proves possession of the key.
 * The token is spent before the CSR is signed so a failed attempt cannot be retried with it
 * by someone who intercepted it.
 */
export class Enrollment {
  constructor(
    private readonly devices: DeviceStore,
    private readonly ca: DeviceCa,
    private readonly audit: AuditLog,
    private readonly validityDays: number,
    /** Called after a certificate is recorded, so the broker admits it at once. */
    private readonly onEnrolled: (deviceId: string) => Promise<void>,
    /** The CRL's public address, put into every certificate issued (see deviceCrlUrl). */
    private readonly crlUrl?: string,
  ) {}

  async enroll(
    req: EnrollRequest,
    source: string | undefined,
  ): Promise<{ certificate: string; chain: string }> {
    if (!isValidId(req.deviceId))
      throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'deviceId is not a valid device id');
    await this.devices.require(req.deviceId);
    try {
      await this.devices.consumeEnrollmentToken(req.deviceId, req.token);
      const issued = await this.issue(req.deviceId, req.csr);
      await this.audit.append({
        actor: `device:${req.deviceId}`,
        action: 'device.enroll',
        resource: `Device/${req.deviceId}`,
        outcome: 'success',
        source,
      });
      return issued;
    } catch (e) {
      await this.audit.append({
        actor: `device:${req.deviceId}`,
        action: 'device.enroll',
        resource: `Device/${req.deviceId}`,
        outcome: 'denied',
        source,
      });
      throw e;
    }
  }

  /**
   * Renewal (after RFC 7030 §4.2.2 simplereenroll): the device proves who it is with its
   * current certificate (the caller has identified it from the TLS session: issued by Vigil,
   * on record, not revoked, device not quarantined) and sends a CSR for a new key. The new
   * certificate supersedes the old one, which is revoked at once.
   */
  async renew(
    deviceId: string,
    csr: string,
    currentKey: Buffer,
    source: string | undefined,
  ): Promise<{ certificate: string; chain: string }> {
    const entry = {
      actor: `device:${deviceId}`,
      action: 'device.renew',
      resource: `Device/${deviceId}`,
      source,
    };
    try {
      const recent = await this.devices.certificatesIssuedSince(deviceId, Date.now() - DAY_MS);
      if (recent >= CERTIFICATES_PER_DAY) {
        throw new VigilError(
          'VIGIL_ERR_ENROLL_TOO_OFTEN',
          `device ${deviceId} got ${recent} certificates in the last 24 hours; renew again tomorrow, or re-enrol with a token from an administrator`,
        );
      }
      const issued = await this.issue(deviceId, csr, currentKey);
      await this.audit.append({ ...entry, outcome: 'success' });
      return issued;
    } catch (e) {
      await this.audit.append({ ...entry, outcome: 'denied' });
      throw e;
    }
  }

  /** Signs the CSR, records the certificate (superseding the device's last one), admits it. */
  private async issue(
    deviceId: string,
    csr: string,
    notKey?: Buffer,
  ): Promise<{ certificate: string; chain: string }> {
    const signed = await signDeviceCsr(this.ca, csr, deviceId, {
      validityDays: this.validityDays,
      ...(notKey ? { notKey } : {}),
      ...(this.crlUrl !== undefined ? { crlUrl: this.crlUrl } : {}),
    });
    const info = certificateInfo(signed.certificatePem);
    await this.devices.recordCertificate({
      serial: signed.serialHex,
      deviceId,
      fingerprint: info.fingerprint256,
      notBefore: info.notBefore.getTime(),
      notAfter: signed.notAfter.getTime(),
    });
    await this.onEnrolled(deviceId);
    return { certificate: signed.certificatePem, chain: signed.chainPem };
  }
}
