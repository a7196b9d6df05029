import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { VigilError } from '../errors/catalogue.ts';
import type { Schema } from '../store/schema.ts';
import { type Category, type ConsentRecord, evaluateConsent, type Purpose } from './consent.ts';
import type { AccessGrant, Requester } from './patient-access.ts';
import type { Role } from './roles.ts';

/** What a decision rests on (PatientAccess.facts). A patient that was never registered is unknown. */
export interface AccessFacts {
  patient: 'unknown' | 'erased' | 'active';
  breakGlassId: string | undefined;
  onCareTeam: boolean;
  consents: ConsentRecord[];
}

/** Why the gate refused, for callers that answer one reason differently (observation-routes.ts). */
export type RefusalReason = 'no-care-team-link' | 'purpose' | 'role' | 'consent';

/** The gate's refusal: a 403 whose detail says why in words, and whose reason says it to code. */
export class AccessRefusal extends VigilError {
  constructor(
    readonly reason: RefusalReason,
    detail: string,
  ) {
    super('VIGIL_ERR_AUTH_FORBIDDEN', detail);
  }
}

export const NO_CARE_TEAM_LINK = 'no care-team link (an emergency may use break-glass, which is audited)';

const refusal = (who: Requester, patientId: string, reason: RefusalReason, why: string) =>
  new AccessRefusal(reason, `${who.actor} may not read patient ${patientId}: ${why}`);

/**
 * On what footing a role reads patients at all, whatever its permissions: a clinician through
 * care teams and break-glass, an integration under consent alone, every other role not at all
 * (accessBasis, readable-patients.ts). A token minted in a role of another footing would open
 * patients its creator may not read (token-routes.ts).
 */
export function patientReadFooting(role: Role): 'care-team' | 'consent' | 'none' {
  if (role === 'clinician') return 'care-team';
  if (role === 'integration') return 'consent';
  return 'none';
}

/**
 * The first half of the decision, pure: on what basis `who` may read the patient at all, before
 * any consent is asked. A clinician needs a running break-glass grant or a care-team link, an
 * integration needs nothing more, every other role reads no patient data. Throws
 * VIGIL_ERR_AUTH_FORBIDDEN saying why. Alone it decides who may read a patient's consent
 * records (patient-gate.ts readConsents): a care-team clinician must see the consent that keeps
 * them out.
 */
export function accessBasis(
  who: Requester,
  patientId: string,
  facts: AccessFacts,
  purpose: Purpose,
): Pick<AccessGrant, 'basis' | 'breakGlassId'> {
  if (who.role === 'clinician') {
    // Break-glass is an emergency grant for treatment: it opens nothing for research, payment
    // or operations, and overrides no refusal of them.
    const breakGlassId = purpose === 'treatment' ? facts.breakGlassId : undefined;
    if (breakGlassId) return { basis: 'break-glass', breakGlassId };
    if (facts.onCareTeam) return { basis: 'care-team' };
    if (facts.breakGlassId)
      throw refusal(
        who,
        patientId,
        'purpose',
        `break-glass opens a record for treatment only, not for ${purpose}`,
      );
    throw refusal(who, patientId, 'no-care-team-link', NO_CARE_TEAM_LINK);
  }
  if (who.role === 'integration') return { basis: 'integration' };
  throw refusal(who, patientId, 'role', `the ${who.role} role reads no patient data`);
}

/**
 * The decision itself, pure: the basis (accessBasis), then the consent must permit the purpose,
 * unless the glass was broken for treatment. Throws VIGIL_ERR_AUTH_FORBIDDEN saying why.
 */
export function decideAccess(
  who: Requester,
  patientId: string,
  facts: AccessFacts,
  purpose: Purpose,
  category: Category,
  nowMs: number,
): AccessGrant {
  const { basis, breakGlassId } = accessBasis(who, patientId, facts, purpose);
  const consent = evaluateConsent(facts.consents, purpose, category, nowMs);
  // Break-glass is for emergencies: it overrides a refusal, and the security officer is told.
  if (!consent.permit && basis !== 'break-glass') throw refusal(who, patientId, 'consent', consent.why);
  return { basis, consent: consent.why, ...(breakGlassId ? { breakGlassId } : {}) };
}

export function toConsentRecord(r: {
  id: string;
  decision: string;
  purposes: string;
  categories: string;
  period_start: number;
  period_end: number | null;
  status: string;
  recorded_at: number;
}): ConsentRecord {
  return {
    id: r.id,
    decision: r.decision === 'deny' ? 'deny' : 'permit',
    purposes: r.purposes.split(',') as ConsentRecord['purposes'],
    categories: r.categories.split(',') as ConsentRecord['categories'],
    periodStart: r.period_start,
    periodEnd: r.period_end,
    status: r.status === 'active' ? 'active' : 'revoked',
    recordedAt: r.recorded_at,
  };
}

export type FactsReader = (who: Requester, patientId: string, nowMs: number) => Promise<AccessFacts>;

interface FactsRow {
  erased_at: number | null;
  break_glass_id: string | null;
  team_id: string | null;
  consent_id: string | null;
  decision: string | null;
  purposes: string | null;
  categories: string | null;
  period_start: number | null;
  period_end: number | null;
  status: string | null;
  recorded_at: number | null;
}

/**
 * One query for everything the decision needs: the patient's row (absent: unknown), a running
 * break-glass grant of this actor, a care-team link of this member, and the patient's consent
 * records, one row each (LEFT JOIN: one row with nulls when there are none). Every part is an
 * index lookup (patients' key, break_glass_actor, care_team_patients_patient with the members'
 * key, consents_patient).
 */
function factsQuery(db: Kysely<Schema>, actor: string, member: string, patientId: string, nowMs: number) {
  return db
    .selectFrom('patients as p')
    .leftJoin('consents as c', 'c.patient_id', 'p.id')
    .select((eb) => [
      'p.erased_at',
      eb
        .selectFrom('break_glass')
        .select('id')
        .where('actor', '=', actor)
        .where('patient_id', '=', patientId)
        .where('expires_ms', '>', nowMs)
        .orderBy('expires_ms', 'desc')
        .limit(1)
        .as('break_glass_id'),
      eb
        .selectFrom('care_team_members as m')
        .innerJoin('care_team_patients as tp', 'tp.team_id', 'm.team_id')
        .select('m.team_id')
        .where('m.member', '=', member)
        .where('tp.patient_id', '=', patientId)
        .limit(1)
        .as('team_id'),
      'c.id as consent_id',
      'c.decision',
      'c.purposes',
      'c.categories',
      'c.period_start',
      'c.period_end',
      'c.status',
      'c.recorded_at',
    ])
    .where('p.id', '=', patientId);
}

/**
 * Reads the facts through Kysely (PostgreSQL), or on SQLite through one statement prepared once:
 * building, compiling and preparing the query each time cost more than running it. The SQL is
 * still Kysely's, compiled once with marker values whose positions name each parameter.
 */
export function createFactsReader(db: Kysely<Schema>, sqlite?: BetterSqlite3.Database): FactsReader {
  const toFacts = (rows: FactsRow[]): AccessFacts => {
    const first = rows[0];
    if (!first) return { patient: 'unknown', breakGlassId: undefined, onCareTeam: false, consents: [] };
    const consents: ConsentRecord[] = [];
    for (const r of rows) {
      if (r.consent_id === null) continue;
      consents.push(
        toConsentRecord({
          id: r.consent_id,
          decision: r.decision ?? 'deny',
          purposes: r.purposes ?? '',
          categories: r.categories ?? '',
          period_start: r.period_start ?? 0,
          period_end: r.period_end ?? null,
          status: r.status ?? 'revoked',
          recorded_at: r.recorded_at ?? 0,
        }),
      );
    }
    return {
      patient: first.erased_at === null ? 'active' : 'erased',
      breakGlassId: first.break_glass_id ?? undefined,
      onCareTeam: first.team_id !== null,
      consents,
    };
  };
  if (!sqlite) {
    return async (who, patientId, nowMs) =>
      toFacts((await factsQuery(db, who.actor, who.name, patientId, nowMs).execute()) as FactsRow[]);
  }
  const marks = {
    actor: '\u0000actor',
    member: '\u0000member',
    patient: '\u0000patient',
    now: -7_919_000_000_001,
  };
  const compiled = factsQuery(db, marks.actor, marks.member, marks.patient, marks.now).compile();
  type Slot = (actor: string, member: string, patientId: string, nowMs: number) => unknown;
  const slots: Slot[] = compiled.parameters.map((p): Slot => {
    if (p === marks.actor) return (a) => a;
    if (p === marks.member) return (_a, m) => m;
    if (p === marks.patient) return (_a, _m, id) => id;
    if (p === marks.now) return (_a, _m, _id, now) => now;
    return () => p; // a constant of the query itself (LIMIT 1)
  });
  const statement = sqlite.prepare(compiled.sql);
  return async (who, patientId, nowMs) =>
    toFacts(statement.all(...slots.map((slot) => slot(who.actor, who.name, patientId, nowMs))) as FactsRow[]);
}
