import type { AuditLog } from '../audit/audit-log.ts';
import { VigilError } from '../errors/catalogue.ts';
import { isValidId } from '../errors/ids.ts';
import { certificateInfo, type DeviceCa, signDeviceCsr } from '../pki/index.ts';
import type { DeviceStore } from './devices.store.ts';
import type { DeviceRevocationUrls } from './revocation-list.ts';

/**
 * Certificates a device may get in a day, its enrolment included, before renewal is refused.
 * Each renewal leaves the old certificate on the revocation list until it expires (397 days
 * by default), so a device renewing in a loop would grow the CRL every relying party loads.
 */
const CERTIFICATES_PER_DAY = 5;

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
    /** The CRL's and OCSP responder's public addresses, put into every certificate issued. */
    private readonly revocationUrls: DeviceRevocationUrls = {},
  ) {}

  async enroll(
    req: EnrollRequest,
    source: string | undefined,
  ): Promise<{ certificate: string; chain: string }> {
    if (!isValidId(req.deviceId))
      throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'deviceId is not a valid device id');
    try {
      // No separate "is it registered?" step: anyone may call this, and an unknown device must
      // get the very answer a wrong token gets (no token matches it), or ids could be probed.
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
   * certificate supersedes the presented one, which is revoked at once.
   *
   * The caller's checks are as old as the TLS handshake, and the body may arrive long after:
   * the store checks again, in the transaction that records the new certificate.
   */
  async renew(
    current: { deviceId: string; serial: string; publicKey: Buffer },
    csr: string,
    source: string | undefined,
  ): Promise<{ certificate: string; chain: string }> {
    const { deviceId } = current;
    const entry = {
      actor: `device:${deviceId}`,
      action: 'device.renew',
      resource: `Device/${deviceId}`,
      source,
    };
    try {
      const issued = await this.issue(deviceId, csr, current);
      await this.audit.append({ ...entry, outcome: 'success' });
      return issued;
    } catch (e) {
      await this.audit.append({ ...entry, outcome: 'denied' });
      throw e;
    }
  }

  /**
   * Signs the CSR, records the certificate, admits it. Enrolment supersedes every certificate
   * of the device; renewal supersedes the one presented, within the daily quota.
   */
  private async issue(
    deviceId: string,
    csr: string,
    renewing?: { serial: string; publicKey: Buffer },
  ): Promise<{ certificate: string; chain: string }> {
    const signed = await signDeviceCsr(this.ca, csr, deviceId, {
      validityDays: this.validityDays,
      ...(renewing ? { notKey: renewing.publicKey } : {}),
      ...this.revocationUrls,
    });
    const info = certificateInfo(signed.certificatePem);
    const cert = {
      serial: signed.serialHex,
      deviceId,
      fingerprint: info.fingerprint256,
      notBefore: info.notBefore.getTime(),
      notAfter: signed.notAfter.getTime(),
    };
    if (renewing) {
      await this.devices.recordRenewal(cert, renewing.serial, { perDay: CERTIFICATES_PER_DAY });
    } else {
      await this.devices.recordCertificate(cert);
    }
    await this.onEnrolled(deviceId);
    return { certificate: signed.certificatePem, chain: signed.chainPem };
  }
}
