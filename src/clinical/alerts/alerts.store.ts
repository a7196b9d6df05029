import type { ExpressionBuilder, Kysely } from 'kysely';
import { inPatientScope, isEmptyScope, isPostgresDb } from '../../access/patient-scope-sql.ts';
import type { PatientScope } from '../../access/readable-patients.ts';
import { open, seal } from '../../crypto/aead.ts';
import type { Schema } from '../../store/schema.ts';
import type { AlertCondition, Urgency } from './alert-conditions.ts';
import type { Alert, AlertState, Resolution } from './alert-lifecycle.ts';
import type { AlertRuleOverrides } from './alert-rules.ts';
import type { QualityIssue } from './data-quality.ts';

export type PatientKey = (patientId: string) => Promise<Buffer>;

export interface AlertFilter {
  state?: AlertState | undefined;
  patientId?: string | undefined;
  urgency?: Urgency | undefined;
  /**
   * Only these patients' alerts (the caller's, from the patient gate), applied in the query
   * so the limit counts only them and no other patient's row is read. Absent: every patient.
   */
  patients?: PatientScope | undefined;
  limit: number;
}

export interface AlertEvent {
  ts: number;
  actor: string;
  action: string;
  detail: string;
}

/** One step of an alert's history, as an outbox relay reads them: in id order. */
export interface LoggedAlertEvent {
  id: number;
  alertId: string;
  ts: number;
  action: string;
}

/**
 * An alert without its sealed value: what may be read without the patient's key, which an
 * erased patient no longer has (webhook payloads carry no value anyway).
 */
export type AlertWithoutValue = Omit<Alert, 'value'>;

export interface QualityNotice {
  id: number;
  deviceId: string;
  patientId: string;
  issue: QualityIssue;
  firstMs: number;
  lastMs: number;
  count: number;
  clearedMs: number | null;
}

/**
 * What an erased patient's alert keeps in place of its condition and urgency: the row stays
 * (its history and queued notices name it), the clinical fact does not.
 */
export const ERASED_FACT = 'erased';

const valueAad = (id: string, patientId: string) => `alert-value|${id}|${patientId}`;

/**
 * An erased patient's key is destroyed, so their alert values can no longer be opened: such
 * rows are left out of every list (a NOT EXISTS, not a join: an alert may name a patient the
 * patients table has never held, as in tests and imports).
 */
const notErased = (eb: ExpressionBuilder<Schema, 'alerts'>) =>
  eb.not(
    eb.exists(
      eb
        .selectFrom('patients')
        .select('patients.id')
        .whereRef('patients.id', '=', 'alerts.patient_id')
        .where('patients.erased_at', 'is not', null),
    ),
  );

/** SQL for alerts, their history, per-patient rule overrides and data-quality notices. */
export class AlertStore {
  private readonly isPostgres: boolean;

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly keyOf: PatientKey,
  ) {
    this.isPostgres = isPostgresDb(db);
  }

  async insert(a: Alert): Promise<void> {
    await this.saveStep(a, { isNew: true });
  }

  async update(a: Alert): Promise<void> {
    await this.saveStep(a, { isNew: false });
  }

  /**
   * Writes an alert (new or changed) and, when the change is a step of its history, that step,
   * in one transaction: the webhook outbox tails the history (alert-outbox.ts), so a step whose
   * row committed without its event would never be announced. The value is sealed first: the
   * patient's key may be read from this database, which on SQLite waits while a transaction is open.
   */
  async saveStep(a: Alert, step: { isNew: boolean; event?: AlertEvent }): Promise<void> {
    const sealed = await this.sealValue(a);
    const write = async (db: Kysely<Schema>) => {
      if (step.isNew) {
        await db
          .insertInto('alerts')
          .values({
            id: a.id,
            patient_id: a.patientId,
            condition: a.condition,
            device_id: a.deviceId,
            urgency: a.urgency,
            opened_ms: a.openedMs,
            onset_ms: a.onsetMs,
            ...changesOf(a, sealed),
          })
          .execute();
      } else {
        await db.updateTable('alerts').set(changesOf(a, sealed)).where('id', '=', a.id).execute();
      }
      if (step.event)
        await db
          .insertInto('alert_events')
          .values({ alert_id: a.id, ...step.event })
          .execute();
    };
    if (step.event) await this.db.transaction().execute(write);
    else await write(this.db);
  }

  async addEvent(alertId: string, e: AlertEvent): Promise<void> {
    await this.db
      .insertInto('alert_events')
      .values({ alert_id: alertId, ...e })
      .execute();
  }

  async events(alertId: string): Promise<AlertEvent[]> {
    return this.db
      .selectFrom('alert_events')
      .select(['ts', 'actor', 'action', 'detail'])
      .where('alert_id', '=', alertId)
      .orderBy('id')
      .execute();
  }

  /** The history steps after `afterId`, oldest first: an outbox relay's next batch. */
  async eventsAfter(afterId: number, limit: number): Promise<LoggedAlertEvent[]> {
    const rows = await this.db
      .selectFrom('alert_events')
      .select(['id', 'alert_id', 'ts', 'action'])
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: Number(r.id), alertId: r.alert_id, ts: Number(r.ts), action: r.action }));
  }

  /**
   * These alerts without their values, so nothing is decrypted; an erased patient's alerts are
   * left out, as from every list.
   */
  async withoutValues(ids: readonly string[]): Promise<Map<string, AlertWithoutValue>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('alerts')
      .select(UNSEALED_COLUMNS)
      .where('id', 'in', ids)
      .where(notErased)
      .execute();
    return new Map(rows.map((r) => [r.id, toAlertWithoutValue(r)]));
  }

  async get(id: string): Promise<Alert | undefined> {
    const row = await this.db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? this.toAlert(row) : undefined;
  }

  /** Newest first, then by id; an empty scope answers at once, without a query. */
  async list(f: AlertFilter): Promise<Alert[]> {
    if (isEmptyScope(f.patients)) return [];
    let q = this.db
      .selectFrom('alerts')
      .selectAll()
      .where(notErased)
      .orderBy('opened_ms', 'desc')
      .orderBy('id')
      .limit(f.limit);
    if (f.state) q = q.where('state', '=', f.state);
    if (f.patientId) q = q.where('patient_id', '=', f.patientId);
    if (f.urgency) q = q.where('urgency', '=', f.urgency);
    const scoped = f.patients && inPatientScope('alerts.patient_id', f.patients, this.isPostgres);
    if (scoped) q = q.where(scoped);
    const rows = await q.execute();
    return Promise.all(rows.map((r) => this.toAlert(r)));
  }

  /** Alerts not yet resolved: the engine's working set, loaded at start. */
  async unresolved(): Promise<Alert[]> {
    const rows = await this.db
      .selectFrom('alerts')
      .selectAll()
      .where('state', '<>', 'resolved')
      .where(notErased)
      .execute();
    return Promise.all(rows.map((r) => this.toAlert(r)));
  }

  /**
   * Resolves a patient's unresolved alerts on erasure. The sealed value is left as it is:
   * the key that would re-seal it is gone, and the ciphertext is unreadable from now on. The
   * condition goes too, now that the one-open-alert index no longer holds the row (the erasure
   * cleared the rest). Returns the ids resolved, for their history.
   */
  async resolveErased(patientId: string, by: string, nowMs: number): Promise<string[]> {
    const rows = await this.db
      .updateTable('alerts')
      .set({
        state: 'resolved',
        resolved_ms: nowMs,
        resolved_by: by,
        resolution: 'erased',
        condition: ERASED_FACT,
        urgency: ERASED_FACT,
        onset_ms: 0,
        snoozed_until_ms: null,
        updated_ms: nowMs,
      })
      .where('patient_id', '=', patientId)
      .where('state', '<>', 'resolved')
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  }

  /** Erased patients with alerts still unresolved: erased from the console while no server ran. */
  async erasedWithUnresolved(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('alerts')
      .select('patient_id')
      .distinct()
      .where('state', '<>', 'resolved')
      .where((eb) => eb.not(notErased(eb)))
      .execute();
    return rows.map((r) => r.patient_id);
  }

  async isPatientErased(patientId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('patients')
      .select('erased_at')
      .where('id', '=', patientId)
      .executeTakeFirst();
    return row !== undefined && row.erased_at !== null;
  }

  async ruleOverrides(): Promise<Map<string, AlertRuleOverrides>> {
    const rows = await this.db.selectFrom('alert_rules').select(['patient_id', 'overrides']).execute();
    return new Map(rows.map((r) => [r.patient_id, JSON.parse(r.overrides) as AlertRuleOverrides]));
  }

  async setRuleOverrides(
    patientId: string,
    overrides: AlertRuleOverrides,
    by: string,
    nowMs: number,
  ): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('alert_rules').where('patient_id', '=', patientId).execute();
      if (Object.keys(overrides).length === 0) return;
      await tx
        .insertInto('alert_rules')
        .values({
          patient_id: patientId,
          overrides: JSON.stringify(overrides),
          updated_at: nowMs,
          updated_by: by,
        })
        .execute();
    });
  }

  /** Adds questionable readings to the device's open notice; true when a new notice was opened. */
  async noteQuality(n: {
    deviceId: string;
    patientId: string;
    issue: QualityIssue;
    count: number;
    tsMs: number;
    readings?: ReadonlyArray<{ code: string; tsMs: number }>;
  }): Promise<boolean> {
    if (n.readings && n.readings.length > 0) {
      await this.db
        .insertInto('questionable_readings')
        .values(
          n.readings.map((r) => ({
            patient_id: n.patientId,
            code: r.code,
            ts_ms: r.tsMs,
            device_id: n.deviceId,
            issue: n.issue,
          })),
        )
        .execute();
    }
    const open = await this.db
      .selectFrom('data_quality_notices')
      .select(['id', 'count', 'last_ms'])
      .where('device_id', '=', n.deviceId)
      .where('issue', '=', n.issue)
      .where('cleared_ms', 'is', null)
      .executeTakeFirst();
    if (open) {
      await this.db
        .updateTable('data_quality_notices')
        .set({ count: open.count + n.count, last_ms: Math.max(open.last_ms, n.tsMs) })
        .where('id', '=', open.id)
        .execute();
      return false;
    }
    await this.db
      .insertInto('data_quality_notices')
      .values({
        device_id: n.deviceId,
        patient_id: n.patientId,
        issue: n.issue,
        first_ms: n.tsMs,
        last_ms: n.tsMs,
        count: n.count,
        cleared_ms: null,
      })
      .execute();
    return true;
  }

  /** Closes notices with no questionable reading since `quietSinceMs`. */
  async clearQuietNotices(quietSinceMs: number, nowMs: number): Promise<number> {
    const r = await this.db
      .updateTable('data_quality_notices')
      .set({ cleared_ms: nowMs })
      .where('cleared_ms', 'is', null)
      .where('last_ms', '<', quietSinceMs)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** The patient's readings in [fromMs, toMs] that the data-quality rules judged questionable. */
  async questionableReadings(
    patientId: string,
    fromMs: number,
    toMs: number,
  ): Promise<Array<{ code: string; deviceId: string; tsMs: number }>> {
    const rows = await this.db
      .selectFrom('questionable_readings')
      .select(['code', 'device_id', 'ts_ms'])
      .where('patient_id', '=', patientId)
      .where('ts_ms', '>=', fromMs)
      .where('ts_ms', '<=', toMs)
      .execute();
    return rows.map((r) => ({ code: r.code, deviceId: r.device_id, tsMs: r.ts_ms }));
  }

  /**
   * Newest first. `patients`: only these patients' notices (the caller's, from the patient gate),
   * applied in the query so the limit counts only them; an empty scope answers without a query.
   * Absent: every notice (roles that see devices, not patients; the route leaves the patient out).
   */
  async notices(f: {
    deviceId?: string | undefined;
    isOpen?: boolean | undefined;
    patients?: PatientScope | undefined;
    limit: number;
  }): Promise<QualityNotice[]> {
    if (isEmptyScope(f.patients)) return [];
    // The erasure deletes a patient's notices; one noted by a reading still in flight then must
    // not show either.
    let q = this.db
      .selectFrom('data_quality_notices')
      .selectAll()
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('patients')
              .select('patients.id')
              .whereRef('patients.id', '=', 'data_quality_notices.patient_id')
              .where('patients.erased_at', 'is not', null),
          ),
        ),
      )
      .orderBy('id', 'desc')
      .limit(f.limit);
    if (f.deviceId) q = q.where('device_id', '=', f.deviceId);
    if (f.isOpen === true) q = q.where('cleared_ms', 'is', null);
    if (f.isOpen === false) q = q.where('cleared_ms', 'is not', null);
    const scoped =
      f.patients && inPatientScope('data_quality_notices.patient_id', f.patients, this.isPostgres);
    if (scoped) q = q.where(scoped);
    const rows = await q.execute();
    return rows.map((r) => ({
      id: r.id,
      deviceId: r.device_id,
      patientId: r.patient_id,
      issue: r.issue as QualityIssue,
      firstMs: r.first_ms,
      lastMs: r.last_ms,
      count: r.count,
      clearedMs: r.cleared_ms,
    }));
  }

  private async sealValue(a: Alert): Promise<Buffer> {
    const key = await this.keyOf(a.patientId);
    return seal(key, Buffer.from(JSON.stringify({ value: a.value })), valueAad(a.id, a.patientId));
  }

  private async toAlert(r: Schema['alerts']): Promise<Alert> {
    const key = await this.keyOf(r.patient_id);
    const { value } = JSON.parse(
      open(key, r.sealed_value, valueAad(r.id, r.patient_id)).toString('utf8'),
    ) as {
      value: number;
    };
    return { ...toAlertWithoutValue(r), value };
  }
}

/** The columns an alert's steps change; the rest is fixed when it is raised. */
function changesOf(a: Alert, sealed: Buffer) {
  return {
    state: a.state,
    sealed_value: sealed,
    updated_ms: a.updatedMs,
    acknowledged_by: a.acknowledgedBy,
    acknowledged_ms: a.acknowledgedMs,
    snoozed_until_ms: a.snoozedUntilMs,
    resolved_ms: a.resolvedMs,
    resolved_by: a.resolvedBy,
    resolution: a.resolution,
    escalation_level: a.escalationLevel,
    assigned_to: a.assignedTo,
    assigned_ms: a.assignedMs,
  };
}

const UNSEALED_COLUMNS = [
  'id',
  'patient_id',
  'condition',
  'device_id',
  'urgency',
  'state',
  'opened_ms',
  'updated_ms',
  'onset_ms',
  'acknowledged_by',
  'acknowledged_ms',
  'snoozed_until_ms',
  'resolved_ms',
  'resolved_by',
  'resolution',
  'escalation_level',
  'assigned_to',
  'assigned_ms',
] as const satisfies ReadonlyArray<keyof Schema['alerts']>;

function toAlertWithoutValue(r: Omit<Schema['alerts'], 'sealed_value'>): AlertWithoutValue {
  return {
    id: r.id,
    patientId: r.patient_id,
    condition: r.condition as AlertCondition,
    deviceId: r.device_id,
    urgency: r.urgency as Urgency,
    state: r.state as AlertState,
    openedMs: r.opened_ms,
    updatedMs: r.updated_ms,
    onsetMs: r.onset_ms,
    acknowledgedBy: r.acknowledged_by,
    acknowledgedMs: r.acknowledged_ms,
    snoozedUntilMs: r.snoozed_until_ms,
    resolvedMs: r.resolved_ms,
    resolvedBy: r.resolved_by,
    resolution: r.resolution as Resolution | null,
    escalationLevel: r.escalation_level,
    assignedTo: r.assigned_to,
    assignedMs: r.assigned_ms,
  };
}
