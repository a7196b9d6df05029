import type { AuditLog } from '../audit/audit-log.ts';
import { type ErrorCode, VigilError } from '../errors/catalogue.ts';
import type { CertificateRow, DeviceRow, DeviceStore } from './devices.store.ts';

export interface DeviceAdminDeps {
  devices: DeviceStore;
  audit: AuditLog;
  enrollmentTokenTtlSeconds: number;
  patientExists(patientId: string): Promise<boolean>;
  /** Reloads the ingest path's in-memory view of devices (assignments, revoked certificates). */
  refresh(): Promise<void>;
  /** Closes the device's live connection, if it has one. */
  disconnect(deviceId: string, code: ErrorCode): void;
  isConnected(deviceId: string): boolean;
}

export interface Who {
  actor: string;
  source: string | undefined;
}

export interface OneTimeToken {
  token: string;
  expiresAt: number;
}

/** A clock step this far ahead is tolerated when an assignment is dated "from" now. */
const FUTURE_SLACK_MS = 60_000;

/**
 * What an administrator does to a device from the dashboard, the same steps as the CLI's
 * `vigil device add / assign / token` plus revocation. Each change is audited and reaches
 * the ingest path at once (directory refresh, disconnect), not at the next poll.
 */
export class DeviceAdmin {
  constructor(private readonly deps: DeviceAdminDeps) {}

  async find(deviceId: string): Promise<DeviceRow> {
    const row = await this.deps.devices.get(deviceId);
    if (!row) throw new VigilError('VIGIL_ERR_DEVICE_UNKNOWN', `device ${deviceId} is not registered`);
    return row;
  }

  async detail(
    deviceId: string,
  ): Promise<{ device: DeviceRow; certificates: CertificateRow[]; connected: boolean }> {
    const device = await this.find(deviceId);
    return {
      device,
      certificates: await this.deps.devices.certificates(deviceId),
      connected: this.deps.isConnected(deviceId),
    };
  }

  /** Registers a device (assigned from now on, if a patient is given) and issues its first token. */
  async add(
    input: { id: string; model: string; serial: string; patientId?: string | undefined },
    who: Who,
  ): Promise<{ device: DeviceRow; enrollment: OneTimeToken }> {
    // Checked before anything is written, so a typo in the patient leaves no half-made device.
    if (input.patientId !== undefined) await this.requirePatient(input.patientId);
    const { devices } = this.deps;
    await devices.add({ id: input.id, model: input.model, serial: input.serial });
    if (input.patientId !== undefined) await devices.assign(input.id, input.patientId);
    const enrollment = await devices.createEnrollmentToken(input.id, this.deps.enrollmentTokenTtlSeconds);
    await this.deps.refresh();
    await this.record(who, 'device.create', input.id, input.patientId);
    return { device: await this.find(input.id), enrollment };
  }

  /**
   * A fresh one-time token to enrol again (new key, lost credentials). The current certificate
   * keeps working until the device enrols with the token (which supersedes it) or is revoked.
   */
  async newEnrollmentToken(deviceId: string, who: Who): Promise<OneTimeToken> {
    await this.deps.devices.require(deviceId);
    const t = await this.deps.devices.createEnrollmentToken(deviceId, this.deps.enrollmentTokenTtlSeconds);
    await this.record(who, 'device.enrollment-token', deviceId);
    return t;
  }

  /**
   * Revokes every valid certificate of the device and spends its unused tokens: the device is
   * disconnected now and refused at its next TLS handshake, until it enrols with a new token.
   */
  async revoke(deviceId: string, reason: string, who: Who): Promise<{ revoked: number }> {
    await this.deps.devices.require(deviceId);
    const revoked = await this.deps.devices.revokeCertificates(deviceId, reason);
    await this.deps.devices.voidEnrollmentTokens(deviceId);
    await this.deps.refresh();
    this.deps.disconnect(deviceId, 'VIGIL_ERR_TLS_REVOKED');
    await this.deps.audit.append({
      actor: who.actor,
      action: 'device.revoke',
      resource: `Device/${deviceId}`,
      purpose: reason,
      outcome: 'success',
      source: who.source,
    });
    return { revoked };
  }

  /** From `fromMs` on, the device measures this patient; readings before stay with the previous one. */
  async assign(
    deviceId: string,
    patientId: string,
    fromMs: number | undefined,
    who: Who,
  ): Promise<DeviceRow> {
    const nowMs = Date.now();
    const from = fromMs ?? nowMs;
    if (from > nowMs + FUTURE_SLACK_MS) {
      throw new VigilError(
        'VIGIL_ERR_REQUEST_INVALID',
        `from=${new Date(from).toISOString()} is in the future; assign when the patient puts the device on`,
      );
    }
    await this.deps.devices.require(deviceId);
    await this.requirePatient(patientId);
    const current = (await this.deps.devices.assignments(deviceId)).at(-1);
    if (current && from < current.fromMs) {
      throw new VigilError(
        'VIGIL_ERR_REQUEST_INVALID',
        `from=${new Date(from).toISOString()} is before the current assignment began (${new Date(current.fromMs).toISOString()}); readings already attributed cannot move`,
      );
    }
    await this.deps.devices.assign(deviceId, patientId, from);
    await this.deps.refresh();
    await this.record(who, 'device.assign', deviceId, patientId);
    return this.find(deviceId);
  }

  private async requirePatient(patientId: string): Promise<void> {
    if (!(await this.deps.patientExists(patientId)))
      throw new VigilError(
        'VIGIL_ERR_PATIENT_UNKNOWN',
        `patient ${patientId} is not registered; add the patient first`,
      );
  }

  private record(who: Who, action: string, deviceId: string, patientId?: string): Promise<void> {
    return this.deps.audit.append({
      actor: who.actor,
      action,
      resource: `Device/${deviceId}`,
      patientId,
      outcome: 'success',
      source: who.source,
    });
  }
}
