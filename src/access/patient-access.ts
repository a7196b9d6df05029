import { randomUUID } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { VigilError } from '../errors/catalogue.ts';
import type { Schema } from '../store/schema.ts';
import {
  type AccessFacts,
  createFactsReader,
  decideAccess,
  type FactsReader,
  toConsentRecord,
} from './access-facts.ts';
import type { Category, ConsentRecord, Purpose } from './consent.ts';
import { type PatientScope, readablePatients } from './readable-patients.ts';
import type { Role } from './roles.ts';

/** Who asks, as the HTTP guard knows them. */
export interface Requester {
  role: Role;
  /** The user name or token name: what a care team lists as a member. */
  name: string;
  /** The audit actor: `user:<name>` or `token:<name>`. */
  actor: string;
}

export interface AccessGrant {
  basis: 'care-team' | 'break-glass' | 'integration' | 'system';
  consent: string;
  breakGlassId?: string;
}

export const BREAK_GLASS_MINUTES = 60;

export type { AccessFacts };

/**
 * The second gate on patient data, after the role's permission: a clinician reads a patient
 * only through a care-team link (or an active break-glass grant), and only while the
 * patient's consent permits the purpose; an integration needs the consent. Every read path
 * (REST, FHIR, the live stream, exports) asks here before it loads the patient's key.
 */
export class PatientAccess {
  private readonly readFacts: FactsReader;

  /** `sqlite`: the raw handle of the same database, so the gate's query is prepared once. */
  constructor(
    private readonly db: Kysely<Schema>,
    sqlite?: BetterSqlite3.Database,
  ) {
    this.readFacts = createFactsReader(db, sqlite);
  }

  async consents(patientId: string): Promise<ConsentRecord[]> {
    const rows = await this.db
      .selectFrom('consents')
      .selectAll()
      .where('patient_id', '=', patientId)
      .execute();
    return rows.map(toConsentRecord);
  }

  /** When the actor's latest running break-glass grant for the patient ends, if one runs. */
  async breakGlassExpiry(actor: string, patientId: string, nowMs: number): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('break_glass')
      .select('expires_ms')
      .where('actor', '=', actor)
      .where('patient_id', '=', patientId)
      .where('expires_ms', '>', nowMs)
      .orderBy('expires_ms', 'desc')
      .executeTakeFirst();
    return row?.expires_ms;
  }

  /**
   * Everything a decision about `who` reading `patientId` rests on, in one indexed query
   * (access-facts.ts): the gate runs on every patient-data request.
   */
  facts(who: Requester, patientId: string, nowMs = Date.now()): Promise<AccessFacts> {
    return this.readFacts(who, patientId, nowMs);
  }

  /** Grants or throws VIGIL_ERR_AUTH_FORBIDDEN saying why; the caller audits either way. */
  async check(
    who: Requester,
    patientId: string,
    purpose: Purpose = 'treatment',
    category: Category = 'vital-signs',
    nowMs = Date.now(),
  ): Promise<AccessGrant> {
    return decideAccess(who, patientId, await this.facts(who, patientId, nowMs), purpose, category, nowMs);
  }

  /** The same decision as check(), over facts already read (the gate reads them once). */
  decide(
    who: Requester,
    patientId: string,
    facts: AccessFacts,
    purpose: Purpose = 'treatment',
    category: Category = 'vital-signs',
    nowMs = Date.now(),
  ): AccessGrant {
    return decideAccess(who, patientId, facts, purpose, category, nowMs);
  }

  /**
   * Of these patients, the ones `who` may read now in this category (for lists: alerts,
   * searches); a consent that denies the category hides the patient from that list.
   */
  async readable(
    who: Requester,
    patientIds: Iterable<string>,
    category: Category = 'vital-signs',
    nowMs = Date.now(),
  ): Promise<Set<string>> {
    const out = new Set<string>();
    for (const id of new Set(patientIds)) {
      try {
        await this.check(who, id, 'treatment', category, nowMs);
        out.add(id);
      } catch (e) {
        if (!(e instanceof VigilError)) throw e;
      }
    }
    return out;
  }

  /**
   * Every patient `who` may read now in this category, for a list to filter in SQL: the same
   * answer readable() gives patient by patient, without naming the patients first.
   */
  readablePatients(
    who: Requester,
    category: Category = 'vital-signs',
    nowMs = Date.now(),
  ): Promise<PatientScope> {
    return readablePatients(this.db, who, category, nowMs);
  }

  /** `reason` as typed; it is checked and stored trimmed (see breakGlassReason). */
  async breakGlass(who: Requester, patientId: string, reason: string, nowMs = Date.now()) {
    if (who.role !== 'clinician') {
      throw new VigilError('VIGIL_ERR_AUTH_FORBIDDEN', 'only clinicians may break the glass');
    }
    const grant = {
      id: `bg-${randomUUID()}`,
      actor: who.actor,
      patient_id: patientId,
      reason: breakGlassReason(reason),
      started_ms: nowMs,
      expires_ms: nowMs + BREAK_GLASS_MINUTES * 60_000,
    };
    await this.db.insertInto('break_glass').values(grant).execute();
    return grant;
  }

  async recordConsent(
    patientId: string,
    c: Omit<ConsentRecord, 'id' | 'status' | 'recordedAt'>,
    recordedBy: string,
    nowMs = Date.now(),
  ): Promise<ConsentRecord> {
    const record: ConsentRecord = {
      ...c,
      id: `consent-${randomUUID()}`,
      status: 'active',
      recordedAt: nowMs,
    };
    await this.db
      .insertInto('consents')
      .values({
        id: record.id,
        patient_id: patientId,
        decision: record.decision,
        purposes: record.purposes.join(','),
        categories: record.categories.join(','),
        period_start: record.periodStart,
        period_end: record.periodEnd,
        status: 'active',
        recorded_by: recordedBy,
        recorded_at: nowMs,
        revoked_at: null,
      })
      .execute();
    return record;
  }

  async revokeConsent(patientId: string, consentId: string, nowMs = Date.now()): Promise<boolean> {
    const r = await this.db
      .updateTable('consents')
      .set({ status: 'revoked', revoked_at: nowMs })
      .where('id', '=', consentId)
      .where('patient_id', '=', patientId)
      .where('status', '=', 'active')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}

/** Letters, digits and punctuation a break-glass reason needs at least, spaces not counted. */
export const MIN_BREAK_GLASS_REASON_CHARS = 20;

/** Most a written reason may be, as the break-glass body allows (consent-routes.ts). */
export const MAX_REASON_CHARS = 500;

/**
 * A written reason someone can act on when they review it: trimmed, at least 20 characters
 * besides spaces (twenty blanks are no reason), at most 500, and no control or invisible format
 * characters, which could hide text or forge lines where the reason is shown (audit trail, logs,
 * SIEM). `what` names the reason and `ask` says what to write, for the refusal.
 */
export function reviewableReason(reason: string, what: string, ask: string): string {
  const trimmed = reason.trim();
  if (/[\p{Cc}\p{Cf}]/u.test(trimmed))
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `the ${what} must be plain text on one line, without control or invisible characters`,
    );
  if (trimmed.length > MAX_REASON_CHARS)
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `the ${what} has ${trimmed.length} characters; keep it to ${MAX_REASON_CHARS}`,
    );
  const visible = trimmed.replace(/\s/gu, '').length;
  if (visible < MIN_BREAK_GLASS_REASON_CHARS)
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `the ${what} has ${visible} characters besides spaces; write at least ${MIN_BREAK_GLASS_REASON_CHARS} ${ask}`,
    );
  return trimmed;
}

/** A break-glass reason (reviewableReason): what the emergency is. */
export function breakGlassReason(reason: string): string {
  return reviewableReason(reason, 'break-glass reason', 'saying what the emergency is');
}
