import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { VigilError } from '../errors/catalogue.ts';
import type { Schema } from '../store/schema.ts';
import { type Category, type ConsentRecord, evaluateConsent, type Purpose } from './consent.ts';
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

/**
 * The second gate on patient data, after the role's permission: a clinician reads a patient
 * only through a care-team link (or an active break-glass grant), and only while the
 * patient's consent permits the purpose; an integration needs the consent. Every read path
 * (REST, FHIR, the live stream, exports) asks here before it loads the patient's key.
 */
export class PatientAccess {
  constructor(private readonly db: Kysely<Schema>) {}

  async consents(patientId: string): Promise<ConsentRecord[]> {
    const rows = await this.db
      .selectFrom('consents')
      .selectAll()
      .where('patient_id', '=', patientId)
      .execute();
    return rows.map((r) => ({
      id: r.id,
      decision: r.decision === 'deny' ? 'deny' : 'permit',
      purposes: r.purposes.split(',') as ConsentRecord['purposes'],
      categories: r.categories.split(',') as ConsentRecord['categories'],
      periodStart: r.period_start,
      periodEnd: r.period_end,
      status: r.status === 'active' ? 'active' : 'revoked',
      recordedAt: r.recorded_at,
    }));
  }

  async onCareTeam(member: string, patientId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('care_team_members as m')
      .innerJoin('care_team_patients as p', 'p.team_id', 'm.team_id')
      .select('m.team_id')
      .where('m.member', '=', member)
      .where('p.patient_id', '=', patientId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async activeBreakGlass(actor: string, patientId: string, nowMs: number): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('break_glass')
      .select('id')
      .where('actor', '=', actor)
      .where('patient_id', '=', patientId)
      .where('expires_ms', '>', nowMs)
      .orderBy('expires_ms', 'desc')
      .executeTakeFirst();
    return row?.id;
  }

  /** Grants or throws VIGIL_ERR_AUTH_FORBIDDEN saying why; the caller audits either way. */
  async check(
    who: Requester,
    patientId: string,
    purpose: Purpose = 'treatment',
    category: Category = 'vital-signs',
    nowMs = Date.now(),
  ): Promise<AccessGrant> {
    const deny = (why: string): never => {
      throw new VigilError(
        'VIGIL_ERR_AUTH_FORBIDDEN',
        `${who.actor} may not read patient ${patientId}: ${why}`,
      );
    };
    let basis: AccessGrant['basis'];
    let breakGlassId: string | undefined;
    if (who.role === 'clinician') {
      breakGlassId = await this.activeBreakGlass(who.actor, patientId, nowMs);
      if (breakGlassId) basis = 'break-glass';
      else if (await this.onCareTeam(who.name, patientId)) basis = 'care-team';
      else return deny('no care-team link (an emergency may use break-glass, which is audited)');
    } else if (who.role === 'integration') {
      basis = 'integration';
    } else {
      return deny(`the ${who.role} role reads no patient data`);
    }
    const consent = evaluateConsent(await this.consents(patientId), purpose, category, nowMs);
    // Break-glass is for emergencies: it overrides a refusal, and the security officer is told.
    if (!consent.permit && basis !== 'break-glass') deny(consent.why);
    return { basis, consent: consent.why, ...(breakGlassId ? { breakGlassId } : {}) };
  }

  /** Of these patients, the ones `who` may read now (for lists: alerts, searches). */
  async readable(who: Requester, patientIds: Iterable<string>, nowMs = Date.now()): Promise<Set<string>> {
    const out = new Set<string>();
    for (const id of new Set(patientIds)) {
      try {
        await this.check(who, id, 'treatment', 'vital-signs', nowMs);
        out.add(id);
      } catch (e) {
        if (!(e instanceof VigilError)) throw e;
      }
    }
    return out;
  }

  async breakGlass(who: Requester, patientId: string, reason: string, nowMs = Date.now()) {
    if (who.role !== 'clinician') {
      throw new VigilError('VIGIL_ERR_AUTH_FORBIDDEN', 'only clinicians may break the glass');
    }
    const grant = {
      id: `bg-${randomUUID()}`,
      actor: who.actor,
      patient_id: patientId,
      reason,
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
