import { type Kysely, sql } from 'kysely';
import { idIn, inPatientScope, isEmptyScope, isPostgresDb } from '../access/patient-scope-sql.ts';
import type { PatientScope } from '../access/readable-patients.ts';
import { open, seal } from '../crypto/aead.ts';
import type { KeyRing } from '../crypto/key-ring.ts';
import { calendarDayMs } from '../errors/calendar-date.ts';
import { VigilError } from '../errors/catalogue.ts';
import { isValidId } from '../errors/ids.ts';
import { ERASED_FINGERPRINT } from '../ingest/message-fingerprint.ts';
import { scrubWal } from '../store/database.ts';
import type { Schema } from '../store/schema.ts';
import { ERASED_FACT } from './alerts/alerts.store.ts';

export interface PatientIdentity {
  name: string;
  birthDate?: string;
}

export interface Patient extends PatientIdentity {
  id: string;
  createdAt: number;
}

const identityAad = (id: string) => `patient-identity|${id}`;

/** Which registered patients a list asks for, besides the caller's scope. */
export interface PatientListQuery {
  /** Only these ids (a FHIR `_id` search). */
  ids?: ReadonlySet<string> | undefined;
  /** Only ids after this one (a page cursor). */
  afterId?: string | undefined;
  limit?: number | undefined;
}

/** The rules for a patient's name and birth date, on registration and on every update. */
export function checkPatientIdentity(identity: PatientIdentity, nowMs = Date.now()): void {
  if (identity.name.trim() === '' || identity.name.length > 200)
    throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'patient name must be 1-200 characters');
  if (identity.birthDate === undefined) return;
  const ms = calendarDayMs(identity.birthDate);
  if (ms === undefined || ms > nowMs)
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `birth date "${identity.birthDate.slice(0, 20)}" must be a past day in the calendar, written YYYY-MM-DD`,
    );
}

/** Patients: the id is a pseudonym; name and birth date are sealed with the patient's own key. */
export class PatientStore {
  private readonly isPostgres: boolean;

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly keys: KeyRing,
  ) {
    this.isPostgres = isPostgresDb(db);
  }

  async add(id: string, identity: PatientIdentity, nowMs = Date.now()): Promise<void> {
    if (!isValidId(id)) {
      throw new VigilError(
        'VIGIL_ERR_REQUEST_INVALID',
        `patient id "${id.slice(0, 64)}" is not valid; use 1-64 letters, digits, '.', '_' or '-'`,
      );
    }
    checkPatientIdentity(identity, nowMs);
    const exists = await this.db.selectFrom('patients').select('id').where('id', '=', id).executeTakeFirst();
    if (exists) throw new VigilError('VIGIL_ERR_PATIENT_EXISTS', `patient ${id} is already registered`);
    const key = await this.keys.dataKey('patient', id);
    const sealed = seal(key, Buffer.from(JSON.stringify(identity)), identityAad(id));
    await this.db
      .insertInto('patients')
      .values({ id, sealed_identity: sealed, created_at: nowMs, erased_at: null })
      .execute();
  }

  async get(id: string): Promise<Patient | undefined> {
    const row = await this.db.selectFrom('patients').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.erased_at !== null) return undefined;
    const key = await this.keys.dataKey('patient', id);
    const identity = JSON.parse(
      open(key, row.sealed_identity, identityAad(id)).toString('utf8'),
    ) as PatientIdentity;
    return { id, createdAt: row.created_at, ...identity };
  }

  /**
   * Erases a patient by destroying their data key: identity and every reading become
   * unreadable ciphertext, the pseudonymous audit trail stays whole. Devices stop measuring
   * the patient from now on. Returns false if there was no such (unerased) patient.
   */
  async erase(id: string, nowMs = Date.now()): Promise<boolean> {
    if (!(await this.exists(id))) return false;
    // The key goes first: if anything after fails, the data is already unreadable and a retry
    // finishes the bookkeeping.
    await this.keys.destroy('patient', id, nowMs);
    await this.db.transaction().execute(async (tx) => {
      await tx
        .updateTable('patients')
        .set({ erased_at: nowMs, sealed_identity: Buffer.alloc(0) })
        .where('id', '=', id)
        .execute();
      await tx
        .updateTable('device_assignments')
        .set({ to_ms: nowMs })
        .where('patient_id', '=', id)
        .where('to_ms', 'is', null)
        .execute();
      await tx.deleteFrom('questionable_readings').where('patient_id', '=', id).execute();
      // Facts about the patient kept in clear, outside the sealed rows the key shredded: their
      // alarm limits and data-quality notices go; their alerts stay (history,
      // e-mail and webhook rows name them) without condition, urgency or onset. An open alert's
      // condition is part of the one-open-alert index: it goes when the alert engine resolves it
      // as erased (AlertStore.resolveErased).
      await tx.deleteFrom('alert_rules').where('patient_id', '=', id).execute();
      await tx.deleteFrom('data_quality_notices').where('patient_id', '=', id).execute();
      await tx
        .updateTable('alerts')
        .set({ condition: ERASED_FACT, urgency: ERASED_FACT, onset_ms: 0 })
        .where('patient_id', '=', id)
        .where('state', '=', 'resolved')
        .execute();
      await tx
        .updateTable('alerts')
        .set({ urgency: ERASED_FACT, onset_ms: 0 })
        .where('patient_id', '=', id)
        .where('state', '<>', 'resolved')
        .execute();
      // Message fingerprints are keyed by a system key the master key opens, so its holder
      // could test guesses against them: none of the patient's may outlive the erasure. A
      // device they wore keeps its last fingerprint only if that message is known to be
      // another patient's (its row, in staging or in the window, names them); otherwise a
      // resend of it is refused as a replay, which a device reads as "already stored".
      await tx.deleteFrom('redelivery_window').where('patient_id', '=', id).execute();
      await tx
        .updateTable('devices')
        .set({ last_hash: ERASED_FINGERPRINT })
        .where(
          'id',
          'in',
          tx.selectFrom('device_assignments').select('device_id').where('patient_id', '=', id),
        )
        .where(({ and, exists, not, selectFrom }) =>
          and([
            not(
              exists(
                selectFrom('redelivery_window as w')
                  .select('w.seq')
                  .whereRef('w.device_id', '=', 'devices.id')
                  .whereRef('w.seq', '=', 'devices.last_seq')
                  .where('w.patient_id', '!=', id),
              ),
            ),
            not(
              exists(
                selectFrom('reading_staging as s')
                  .select('s.seq')
                  .whereRef('s.device_id', '=', 'devices.id')
                  .whereRef('s.seq', '=', 'devices.last_seq')
                  .where('s.patient_id', '!=', id),
              ),
            ),
          ]),
        )
        .execute();
    });
    // The WAL still holds the pages as they were, wrapped key included, until it is truncated.
    await scrubWal(this.db);
    return true;
  }

  async isErased(id: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('patients')
      .select('erased_at')
      .where('id', '=', id)
      .executeTakeFirst();
    return row !== undefined && row.erased_at !== null;
  }

  async exists(id: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('patients')
      .select(['id', 'erased_at'])
      .where('id', '=', id)
      .executeTakeFirst();
    return row !== undefined && row.erased_at === null;
  }

  async listIds(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('patients')
      .select('id')
      .where('erased_at', 'is', null)
      .orderBy(this.idByCodeUnit())
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * The unerased patients in `scope` (every one when absent), in id order: a list asks the
   * patient gate once (readablePatients) and reads only the patients it may show, rather than
   * every patient and one gate query each. An empty scope answers without a query.
   */
  async listIdsIn(scope: PatientScope | undefined, q: PatientListQuery = {}): Promise<string[]> {
    if (isEmptyScope(scope) || q.ids?.size === 0) return [];
    // Ordered and compared as JavaScript compares strings (code units), as the cursor always
    // was: ordered one way and compared another, pages would skip and repeat patients.
    let query = this.inScope(scope, q.ids).select('id').orderBy(this.idByCodeUnit());
    if (q.afterId !== undefined) query = query.where(this.idByCodeUnit(), '>', q.afterId);
    if (q.limit !== undefined) query = query.limit(q.limit);
    const rows = await query.execute();
    return rows.map((r) => r.id);
  }

  /** How many unerased patients listIdsIn would list without a cursor and a limit. */
  async countIn(scope: PatientScope | undefined, ids?: ReadonlySet<string>): Promise<number> {
    if (isEmptyScope(scope) || ids?.size === 0) return 0;
    const row = await this.inScope(scope, ids)
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * `id` as JavaScript compares it, by code unit. The ids are ASCII, so SQLite's BINARY order
   * agrees; PostgreSQL is told (COLLATE "C"), as a database created with a language collation
   * (en-US) would order "p_c p-a p-B P-d", the reverse. The primary key's index is in the
   * column's collation, so PostgreSQL walks the one migration 0016 adds on (id COLLATE "C").
   */
  private idByCodeUnit() {
    return this.isPostgres ? sql<string>`${sql.ref('id')} collate "C"` : sql<string>`${sql.ref('id')}`;
  }

  private inScope(scope: PatientScope | undefined, ids: ReadonlySet<string> | undefined) {
    let query = this.db.selectFrom('patients').where('erased_at', 'is', null);
    const scoped = scope && inPatientScope('patients.id', scope, this.isPostgres);
    if (scoped) query = query.where(scoped);
    if (ids) query = query.where(idIn('patients.id', ids, this.isPostgres, false));
    return query;
  }
}
