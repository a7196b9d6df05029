import { createHash, randomBytes } from 'node:crypto';
import type { ExpressionBuilder, Kysely, Transaction } from 'kysely';
import { VigilError } from '../errors/catalogue.ts';
import { isValidId } from '../errors/ids.ts';
import type { IssuedCertificateStatus, RevokedCertificate } from '../pki/index.ts';
import type { Schema } from '../store/schema.ts';

export type DeviceStatus = 'registered' | 'active' | 'quarantined';

export interface DeviceRow {
  id: string;
  model: string;
  serial: string;
  status: DeviceStatus;
  createdAt: number;
  enrolledAt: number | null;
  lastSeenMs: number | null;
  lastSeq: number | null;
  firmware: string | null;
  battery: number | null;
  patientId: string | null;
  certificateNotAfter: number | null;
  quarantineReason: string | null;
}

export interface Assignment {
  patientId: string;
  fromMs: number;
  toMs: number | null;
}

export interface CertificateRow {
  serial: string;
  fingerprint: string;
  notBefore: number;
  notAfter: number;
  issuedAt: number;
  revokedAt: number | null;
  revokeReason: string | null;
}

/** A certificate just signed, as recorded. */
export interface NewCertificate {
  serial: string;
  deviceId: string;
  fingerprint: string;
  notBefore: number;
  notAfter: number;
}

export type DeviceEventType = 'quarantined' | 'released';

/** A quarantine or release as `device_events` holds it (migration 0018). */
export interface DeviceEvent {
  id: number;
  deviceId: string;
  type: DeviceEventType;
  /** Who did it: `user:<name>` or `token:<name>`, as the audit trail names actors. */
  actor: string;
  /** The quarantine's reason; null for a release. */
  reason: string | null;
  atMs: number;
}

const DAY_MS = 24 * 3_600_000;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function checkId(kind: string, id: string): void {
  if (!isValidId(id)) {
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `${kind} id "${id.slice(0, 64)}" is not valid; use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
}

function unknownDevice(id: string): VigilError {
  return new VigilError(
    'VIGIL_ERR_DEVICE_UNKNOWN',
    `device ${id.slice(0, 64)} is not registered; add it with "vigil device add"`,
  );
}

/**
 * Marks the device enrolled now and returns its status, holding its row until the transaction
 * ends. The UPDATE is the lock: on PostgreSQL (READ COMMITTED) it queues certificate changes
 * for one device as SELECT ... FOR UPDATE would, so each statement after it sees what the
 * transaction before committed; otherwise two issuances each supersede only the certificates
 * their own snapshot held, and the device keeps two valid ones. SQLite transactions are
 * serialised already (BEGIN IMMEDIATE), and SQLite has no FOR UPDATE.
 */
async function lockDevice(
  tx: Transaction<Schema>,
  deviceId: string,
  nowMs: number,
): Promise<DeviceStatus | undefined> {
  const row = await tx
    .updateTable('devices')
    .set({ enrolled_at: nowMs })
    .where('id', '=', deviceId)
    .returning('status')
    .executeTakeFirst();
  return row?.status as DeviceStatus | undefined;
}

async function insertCertificate(
  tx: Transaction<Schema>,
  cert: NewCertificate,
  nowMs: number,
): Promise<void> {
  await tx
    .insertInto('device_certificates')
    .values({
      serial: cert.serial,
      device_id: cert.deviceId,
      fingerprint: cert.fingerprint,
      not_before: cert.notBefore,
      not_after: cert.notAfter,
      issued_at: nowMs,
      revoked_at: null,
      revoke_reason: null,
    })
    .execute();
  await tx
    .updateTable('devices')
    .set({ status: 'active' })
    .where('id', '=', cert.deviceId)
    .where('status', '=', 'registered')
    .execute();
}

async function recordEvent(tx: Transaction<Schema>, e: Omit<DeviceEvent, 'id'>): Promise<void> {
  await tx
    .insertInto('device_events')
    .values({ device_id: e.deviceId, type: e.type, actor: e.actor, reason: e.reason, at: e.atMs })
    .execute();
}

export class DeviceStore {
  constructor(private readonly db: Kysely<Schema>) {}

  async add(input: { id: string; model: string; serial: string }, nowMs = Date.now()): Promise<void> {
    checkId('device', input.id);
    for (const [field, value] of [
      ['model', input.model],
      ['serial', input.serial],
    ] as const) {
      if (value.trim() === '' || value.length > 128) {
        throw new VigilError('VIGIL_ERR_REQUEST_INVALID', `device ${field} must be 1-128 characters`);
      }
    }
    const exists = await this.db
      .selectFrom('devices')
      .select('id')
      .where('id', '=', input.id)
      .executeTakeFirst();
    if (exists) throw new VigilError('VIGIL_ERR_DEVICE_EXISTS', `device ${input.id} is already registered`);
    await this.db
      .insertInto('devices')
      .values({
        id: input.id,
        model: input.model,
        serial: input.serial,
        status: 'registered',
        created_at: nowMs,
        enrolled_at: null,
        last_seq: null,
        last_hash: null,
        last_seen_ms: null,
        firmware: null,
        battery: null,
        quarantined_at: null,
        quarantine_reason: null,
      })
      .execute();
  }

  async require(id: string): Promise<void> {
    const row = await this.db.selectFrom('devices').select('id').where('id', '=', id).executeTakeFirst();
    if (!row) throw unknownDevice(id);
  }

  /** Throws VIGIL_ERR_PATIENT_UNKNOWN unless the patient is registered and not erased. */
  async requirePatient(patientId: string): Promise<void> {
    const patient = await this.db
      .selectFrom('patients')
      .select(['id', 'erased_at'])
      .where('id', '=', patientId)
      .executeTakeFirst();
    if (!patient || patient.erased_at !== null) {
      throw new VigilError(
        'VIGIL_ERR_PATIENT_UNKNOWN',
        `patient ${patientId.slice(0, 64)} is not registered; add it with "vigil patient add"`,
      );
    }
  }

  /** From nowMs on, the device measures this patient; the previous assignment ends then. */
  async assign(deviceId: string, patientId: string, nowMs = Date.now()): Promise<void> {
    await this.require(deviceId);
    await this.requirePatient(patientId);
    await this.db.transaction().execute(async (tx) => {
      await tx
        .updateTable('device_assignments')
        .set({ to_ms: nowMs })
        .where('device_id', '=', deviceId)
        .where('to_ms', 'is', null)
        .execute();
      await tx
        .insertInto('device_assignments')
        .values({ device_id: deviceId, patient_id: patientId, from_ms: nowMs, to_ms: null })
        .execute();
    });
  }

  async assignments(deviceId: string): Promise<Assignment[]> {
    const rows = await this.db
      .selectFrom('device_assignments')
      .select(['patient_id', 'from_ms', 'to_ms'])
      .where('device_id', '=', deviceId)
      .orderBy('from_ms')
      .execute();
    return rows.map((r) => ({ patientId: r.patient_id, fromMs: r.from_ms, toMs: r.to_ms }));
  }

  /** A one-time enrollment token; only its hash is stored. */
  async createEnrollmentToken(
    deviceId: string,
    ttlSeconds: number,
    nowMs = Date.now(),
  ): Promise<{ token: string; expiresAt: number }> {
    await this.require(deviceId);
    const token = `enr_${randomBytes(24).toString('base64url')}`;
    const expiresAt = nowMs + ttlSeconds * 1000;
    await this.db
      .insertInto('enrollment_tokens')
      .values({
        token_hash: hashToken(token),
        device_id: deviceId,
        created_at: nowMs,
        expires_at: expiresAt,
        used_at: null,
      })
      .execute();
    return { token, expiresAt };
  }

  /** Marks the token used if it is valid for this device; one-time even under concurrent use. */
  async consumeEnrollmentToken(deviceId: string, token: string, nowMs = Date.now()): Promise<void> {
    const result = await this.db
      .updateTable('enrollment_tokens')
      .set({ used_at: nowMs })
      .where('token_hash', '=', hashToken(token))
      .where('device_id', '=', deviceId)
      .where('used_at', 'is', null)
      .where('expires_at', '>', nowMs)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) {
      throw new VigilError(
        'VIGIL_ERR_ENROLL_BAD_TOKEN',
        'the enrollment token is unknown, already used, expired, or for another device; ask an administrator for a new one ("vigil device add" or re-enrol)',
      );
    }
  }

  /** Spends every unused token of a device, so a leaked one cannot enrol it after a revocation. */
  async voidEnrollmentTokens(deviceId: string, nowMs = Date.now()): Promise<number> {
    const r = await this.db
      .updateTable('enrollment_tokens')
      .set({ used_at: nowMs })
      .where('device_id', '=', deviceId)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Records a certificate issued by enrolment; it supersedes (revokes) every one before it. */
  async recordCertificate(cert: NewCertificate, nowMs = Date.now()): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await lockDevice(tx, cert.deviceId, nowMs);
      // A device holds one valid certificate: enrolling again supersedes (revokes) the old one.
      await tx
        .updateTable('device_certificates')
        .set({ revoked_at: nowMs, revoke_reason: 'superseded' })
        .where('device_id', '=', cert.deviceId)
        .where('revoked_at', 'is', null)
        .execute();
      await insertCertificate(tx, cert, nowMs);
    });
  }

  /**
   * Records a renewal's certificate in place of the one the device presented, in one
   * transaction with every check that decides whether it may: the presented certificate is
   * still valid (a revocation, or another renewal with it, may have committed since the TLS
   * handshake), the device is not quarantined, and the daily quota is not spent. The presented
   * serial is superseded by its own UPDATE, so of several renewals with one certificate exactly
   * one finds it unrevoked.
   */
  async recordRenewal(
    cert: NewCertificate,
    presentedSerial: string,
    quota: { perDay: number },
    nowMs = Date.now(),
  ): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const status = await lockDevice(tx, cert.deviceId, nowMs);
      if (status === undefined) throw unknownDevice(cert.deviceId);
      if (status === 'quarantined') {
        throw new VigilError('VIGIL_ERR_DEVICE_QUARANTINED', `device ${cert.deviceId} is quarantined`);
      }
      const superseded = await tx
        .updateTable('device_certificates')
        .set({ revoked_at: nowMs, revoke_reason: 'superseded' })
        .where('serial', '=', presentedSerial)
        .where('device_id', '=', cert.deviceId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(superseded.numUpdatedRows) !== 1) {
        throw new VigilError(
          'VIGIL_ERR_TLS_REVOKED',
          `the certificate ${presentedSerial} of device ${cert.deviceId} has been revoked or already renewed; renew with the newest certificate, or re-enrol with a token from an administrator`,
        );
      }
      const { n } = await tx
        .selectFrom('device_certificates')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('device_id', '=', cert.deviceId)
        .where('issued_at', '>=', nowMs - DAY_MS)
        .executeTakeFirstOrThrow();
      if (Number(n) >= quota.perDay) {
        throw new VigilError(
          'VIGIL_ERR_ENROLL_TOO_OFTEN',
          `device ${cert.deviceId} got ${Number(n)} certificates in the last 24 hours; renew again tomorrow, or re-enrol with a token from an administrator`,
        );
      }
      await insertCertificate(tx, cert, nowMs);
    });
  }

  async revokeCertificates(deviceId: string, reason: string, nowMs = Date.now()): Promise<number> {
    return this.db.transaction().execute(async (tx) => {
      // The device row first, as issuance takes it (lockDevice): a revocation waits for an
      // issuance in flight and then revokes its new certificate too.
      await tx
        .updateTable('devices')
        .set((eb) => ({ status: eb.ref('status') }))
        .where('id', '=', deviceId)
        .execute();
      const r = await tx
        .updateTable('device_certificates')
        .set({ revoked_at: nowMs, revoke_reason: reason })
        .where('device_id', '=', deviceId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    });
  }

  /** Every revoked certificate, for the device CA's revocation list. */
  async revokedCertificates(): Promise<RevokedCertificate[]> {
    const rows = await this.db
      .selectFrom('device_certificates')
      .select(['serial', 'revoked_at', 'not_after', 'revoke_reason'])
      .where('revoked_at', 'is not', null)
      .execute();
    return rows.map((r) => ({
      serial: r.serial,
      revokedAtMs: r.revoked_at as number,
      notAfterMs: r.not_after,
      reason: r.revoke_reason,
    }));
  }

  /**
   * Revocation facts of the given serials (normalizeSerial form), for the OCSP responder; a
   * serial Vigil never issued is absent. A quarantined device's certificate stays unrevoked
   * here: quarantine is Vigil's own, reversible policy, not a revocation (src/pki/README.md).
   */
  async certificateStatus(serials: readonly string[]): Promise<Map<string, IssuedCertificateStatus>> {
    if (serials.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('device_certificates')
      .select(['serial', 'revoked_at', 'revoke_reason'])
      .where('serial', 'in', [...serials])
      .execute();
    return new Map(rows.map((r) => [r.serial, { revokedAtMs: r.revoked_at, reason: r.revoke_reason }]));
  }

  /**
   * Quarantines the device, and records the step in `device_events` in the same transaction:
   * the relay that audits it and announces it (src/notify/device-events-outbox.ts) works from
   * that row, so a crash right after the commit loses neither, and a failed commit leaves no
   * event for a status that never changed. Quarantining a quarantined device records the new
   * reason as another step.
   */
  async quarantine(deviceId: string, reason: string, actor: string, nowMs = Date.now()): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const changed = await tx
        .updateTable('devices')
        .set({ status: 'quarantined', quarantined_at: nowMs, quarantine_reason: reason })
        .where('id', '=', deviceId)
        .executeTakeFirst();
      if (Number(changed.numUpdatedRows) === 0) throw unknownDevice(deviceId);
      await recordEvent(tx, { deviceId, type: 'quarantined', actor, reason, atMs: nowMs });
    });
  }

  /**
   * Lets a quarantined device in again, recording the step as quarantine does; false, with
   * nothing written, when the device was not quarantined (no event for a release that released
   * nothing, so no webhook announces one).
   */
  async release(deviceId: string, actor: string, nowMs = Date.now()): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const changed = await tx
        .updateTable('devices')
        .set({ status: 'active', quarantined_at: null, quarantine_reason: null })
        .where('id', '=', deviceId)
        .where('status', '=', 'quarantined')
        .executeTakeFirst();
      if (Number(changed.numUpdatedRows) === 0) {
        const exists = await tx
          .selectFrom('devices')
          .select('id')
          .where('id', '=', deviceId)
          .executeTakeFirst();
        if (!exists) throw unknownDevice(deviceId);
        return false;
      }
      await recordEvent(tx, { deviceId, type: 'released', actor, reason: null, atMs: nowMs });
      return true;
    });
  }

  /** The quarantines and releases after `afterId`, in id order: the outbox relay's reading. */
  async eventsAfter(afterId: number, limit: number): Promise<DeviceEvent[]> {
    const rows = await this.db
      .selectFrom('device_events')
      .selectAll()
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      deviceId: r.device_id,
      type: r.type as DeviceEventType,
      actor: r.actor,
      reason: r.reason,
      atMs: Number(r.at),
    }));
  }

  async updateStatus(
    deviceId: string,
    s: { firmware?: string; battery?: number; seenMs: number },
  ): Promise<void> {
    await this.db
      .updateTable('devices')
      .set({
        last_seen_ms: s.seenMs,
        ...(s.firmware === undefined ? {} : { firmware: s.firmware }),
        ...(s.battery === undefined ? {} : { battery: s.battery }),
      })
      .where('id', '=', deviceId)
      .execute();
  }

  async list(): Promise<DeviceRow[]> {
    const rows = await this.db
      .selectFrom('devices as d')
      .leftJoin('device_assignments as a', (j) =>
        j.onRef('a.device_id', '=', 'd.id').on('a.to_ms', 'is', null),
      )
      .select([
        'd.id',
        'd.model',
        'd.serial',
        'd.status',
        'd.created_at',
        'd.enrolled_at',
        'd.last_seen_ms',
        'd.last_seq',
        'd.firmware',
        'd.battery',
        'd.quarantine_reason',
        'a.patient_id',
      ])
      .select(certNotAfter)
      .orderBy('d.id')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      model: r.model,
      serial: r.serial,
      status: r.status as DeviceStatus,
      createdAt: r.created_at,
      enrolledAt: r.enrolled_at,
      lastSeenMs: r.last_seen_ms,
      lastSeq: r.last_seq,
      firmware: r.firmware,
      battery: r.battery,
      patientId: r.patient_id ?? null,
      certificateNotAfter:
        r.cert_not_after === null || r.cert_not_after === undefined ? null : Number(r.cert_not_after),
      quarantineReason: r.quarantine_reason,
    }));
  }

  async get(id: string): Promise<DeviceRow | undefined> {
    return (await this.list()).find((d) => d.id === id);
  }

  /** The certificates Vigil issued to a device, newest first (device page, revocation). */
  async certificates(deviceId: string): Promise<CertificateRow[]> {
    const rows = await this.db
      .selectFrom('device_certificates')
      .select([
        'serial',
        'fingerprint',
        'not_before',
        'not_after',
        'issued_at',
        'revoked_at',
        'revoke_reason',
      ])
      .where('device_id', '=', deviceId)
      .orderBy('issued_at', 'desc')
      .execute();
    return rows.map((r) => ({
      serial: r.serial,
      fingerprint: r.fingerprint,
      notBefore: r.not_before,
      notAfter: r.not_after,
      issuedAt: r.issued_at,
      revokedAt: r.revoked_at,
      revokeReason: r.revoke_reason,
    }));
  }

  /** Everything the ingest hot path needs about every device, read once and on change. */
  async snapshot(): Promise<{
    devices: Array<{ id: string; status: string; lastSeq: number | null; lastHash: string | null }>;
    assignments: Array<{ deviceId: string } & Assignment>;
    certificates: Array<{ serial: string; deviceId: string; revoked: boolean }>;
  }> {
    const [devices, assignments, certificates] = await Promise.all([
      this.db.selectFrom('devices').select(['id', 'status', 'last_seq', 'last_hash']).execute(),
      this.db
        .selectFrom('device_assignments')
        .select(['device_id', 'patient_id', 'from_ms', 'to_ms'])
        .orderBy('from_ms')
        .execute(),
      this.db.selectFrom('device_certificates').select(['serial', 'device_id', 'revoked_at']).execute(),
    ]);
    return {
      devices: devices.map((d) => ({
        id: d.id,
        status: d.status,
        lastSeq: d.last_seq,
        lastHash: d.last_hash,
      })),
      assignments: assignments.map((a) => ({
        deviceId: a.device_id,
        patientId: a.patient_id,
        fromMs: a.from_ms,
        toMs: a.to_ms,
      })),
      certificates: certificates.map((c) => ({
        serial: c.serial,
        deviceId: c.device_id,
        revoked: c.revoked_at !== null,
      })),
    };
  }
}

/**
 * `cert_not_after`: when the device's newest unrevoked certificate expires, for queries over
 * `devices as d` (the fleet list here, the posture inventory in src/posture).
 */
export function certNotAfter(eb: ExpressionBuilder<Schema & { d: Schema['devices'] }, 'd'>) {
  return eb
    .selectFrom('device_certificates as c')
    .select((e) => e.fn.max('c.not_after').as('na'))
    .whereRef('c.device_id', '=', 'd.id')
    .where('c.revoked_at', 'is', null)
    .as('cert_not_after');
}
