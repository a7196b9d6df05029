import type { Kysely } from 'kysely';
import type { Schema } from '../store/schema.ts';
import { toConsentRecord } from './access-facts.ts';
import { type Category, type ConsentRecord, evaluateConsent } from './consent.ts';
import type { Requester } from './patient-access.ts';

/**
 * The patients whose data a requester may read, in a form a list query applies in SQL:
 * `only` these ids, or every patient `except` these. An integration reads every patient its
 * consent rules leave open, registered or not (as decideAccess does), so its scope is the
 * short list of refusals rather than the long list of everybody else.
 */
export type PatientScope =
  | {
      only: ReadonlySet<string>;
      except?: never;
      /**
       * The patients in `only` through the requester's own running break-glass grants, each with
       * the end of the latest one (ms): what a list marks as emergency access, and until when.
       */
      breakGlassEnds?: ReadonlyMap<string, number>;
    }
  | { except: ReadonlySet<string>; only?: never; breakGlassEnds?: never };

export function inScope(scope: PatientScope, patientId: string): boolean {
  return scope.only ? scope.only.has(patientId) : !scope.except.has(patientId);
}

/**
 * decideAccess (access-facts.ts) for treatment, taken for every patient at once instead of one
 * at a time: a list asks this once and filters in SQL, rather than reading every row and asking
 * per patient. A clinician's running break-glass grants open their patients whatever the
 * consent says; a care-team link opens a patient while the consent permits treatment use of
 * `category`; an integration sees every patient but those whose consent refuses it; every other
 * role sees nobody. Consent is judged by evaluateConsent, so the rules live in one place.
 */
export async function readablePatients(
  db: Kysely<Schema>,
  who: Requester,
  category: Category,
  nowMs: number,
): Promise<PatientScope> {
  if (who.role === 'integration') {
    // Only a patient with an active refusal on record can be refused: with none, treatment is
    // permitted by default (consent.ts rule 3), so the other patients' records are not read.
    const refusing = db
      .selectFrom('consents')
      .select('patient_id')
      .where('status', '=', 'active')
      .where('decision', '=', 'deny');
    const consents = byPatient(await activeConsents(db).where('patient_id', 'in', refusing).execute());
    const except = new Set<string>();
    for (const [patientId, records] of consents) {
      if (!evaluateConsent(records, 'treatment', category, nowMs).permit) except.add(patientId);
    }
    return { except };
  }
  if (who.role !== 'clinician') return { only: new Set() };

  // Break-glass and care-team links need the patient's row, as the facts query does.
  const glass = await db
    .selectFrom('break_glass as bg')
    .innerJoin('patients as p', 'p.id', 'bg.patient_id')
    .select(['bg.patient_id', (eb) => eb.fn.max('bg.expires_ms').as('expires_ms')])
    .where('bg.actor', '=', who.actor)
    .where('bg.expires_ms', '>', nowMs)
    .groupBy('bg.patient_id')
    .execute();
  const breakGlassEnds = new Map(glass.map((r) => [r.patient_id, Number(r.expires_ms)]));
  const onTeam = db
    .selectFrom('care_team_members as m')
    .innerJoin('care_team_patients as tp', 'tp.team_id', 'm.team_id')
    .innerJoin('patients as p', 'p.id', 'tp.patient_id')
    .select('tp.patient_id')
    .where('m.member', '=', who.name);
  const team = await onTeam.distinct().execute();
  const only = new Set(breakGlassEnds.keys());
  if (team.every((r) => only.has(r.patient_id))) return { only, breakGlassEnds };
  const consents = byPatient(await activeConsents(db).where('patient_id', 'in', onTeam).execute());
  for (const { patient_id: patientId } of team) {
    if (only.has(patientId)) continue;
    if (evaluateConsent(consents.get(patientId) ?? [], 'treatment', category, nowMs).permit)
      only.add(patientId);
  }
  return { only, breakGlassEnds };
}

/** Revoked records are left in the database: evaluateConsent would skip them anyway. */
const activeConsents = (db: Kysely<Schema>) =>
  db.selectFrom('consents').selectAll().where('status', '=', 'active');

function byPatient(rows: Array<Schema['consents']>): Map<string, ConsentRecord[]> {
  const out = new Map<string, ConsentRecord[]>();
  for (const r of rows) {
    const records = out.get(r.patient_id) ?? [];
    records.push(toConsentRecord(r));
    out.set(r.patient_id, records);
  }
  return out;
}
