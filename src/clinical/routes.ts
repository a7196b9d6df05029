import { type Static, Type } from '@sinclair/typebox';
import type { Role } from '../access/roles.ts';
import { ID_PATTERN } from '../errors/ids.ts';
import { type App, actorOf } from '../server/http.ts';
import { registerSeriesRoutes, type SeriesRouteDeps } from './series-routes.ts';

export type ClinicalRouteDeps = SeriesRouteDeps;

export function registerClinicalRoutes(app: App, deps: ClinicalRouteDeps): void {
  registerPatientList(app, deps);
  registerSeriesRoutes(app, deps);
}

/**
 * A page of the patient list. With include=identity each named patient is unsealed and audited
 * in the request: an unbounded list made one request of every patient in the store.
 */
const DEFAULT_PAGE = 500;
const MAX_PAGE = 1000;

const PatientAccessBasis = Type.Union(
  [
    Type.Literal('care-team'),
    Type.Literal('break-glass'),
    Type.Literal('integration'),
    Type.Literal('administration'),
  ],
  {
    description:
      "How the caller sees this patient: care-team (a care-team link, while consent permits), break-glass (the caller's own emergency access, until accessExpires; reads are audited as such and the security officer was told), integration (consent permits it), administration (listed to administer devices, care teams and consent; no clinical data)",
  },
);
type PatientAccessBasis = Static<typeof PatientAccessBasis>;

/**
 * GET /api/v1/patients: the ids of the patients the caller may see and on what basis, and with
 * `include=identity` the name and birth date of those whose consent lets this caller see
 * identity: a clinician confirms whom a chart belongs to by name, not by a pseudonym. Patients
 * opened by break-glass say so, with the end of that access: a care-team patient and an
 * emergency one must not look alike on the list.
 */
export function registerPatientList(
  app: App,
  deps: Pick<ClinicalRouteDeps, 'patients' | 'audit' | 'gate'>,
): void {
  app.get(
    '/api/v1/patients',
    {
      config: { access: { permission: 'patients:read' } },
      schema: {
        summary: 'List patients (ids; names and birth dates with include=identity)',
        security: [{ bearer: [] }],
        querystring: Type.Object(
          {
            include: Type.Optional(
              Type.Literal('identity', {
                description: 'Also the name and birth date of each patient whose consent allows it',
              }),
            ),
            limit: Type.Optional(
              Type.Integer({
                minimum: 1,
                maximum: MAX_PAGE,
                description: `Patients per page (default ${DEFAULT_PAGE}, at most ${MAX_PAGE})`,
              }),
            ),
            after: Type.Optional(
              Type.String({
                pattern: ID_PATTERN.source,
                maxLength: 64,
                description: "The page after this patient id: the previous page's `next`",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            patients: Type.Array(
              Type.Object({
                id: Type.String(),
                name: Type.Optional(Type.String()),
                birthDate: Type.Optional(Type.String()),
                access: PatientAccessBasis,
                accessExpires: Type.Optional(
                  Type.String({
                    format: 'date-time',
                    description: 'With access=break-glass: when the emergency access ends',
                  }),
                ),
              }),
            ),
            next: Type.Union([Type.String(), Type.Null()], {
              description: 'Pass as `after` for the next page; null on the last page',
            }),
          }),
        },
      },
    },
    async (request) => {
      // Administrators see every pseudonymous id to manage them; readers only their patients,
      // asked of the gate once and filtered in the query.
      const role = request.identity?.role;
      const scope = role === 'admin' ? undefined : await deps.gate.readablePatients(request.identity);
      const limit = request.query.limit ?? DEFAULT_PAGE;
      // One more than the page shows whether another follows.
      const found = await deps.patients.listIdsIn(scope, { afterId: request.query.after, limit: limit + 1 });
      const ids = found.slice(0, limit);
      const next = found.length > limit ? (ids[ids.length - 1] ?? null) : null;
      // A clinician's running grants open their patients whatever else does, as the gate
      // decides (access-facts.ts): while one runs, reads of that patient are break-glass reads.
      const basisOf = (id: string) => accessOf(role, scope?.breakGlassEnds?.get(id));
      const actor = actorOf(request);
      await deps.audit.append({
        actor,
        action: 'patient.list',
        resource: 'Patient',
        outcome: 'success',
        source: request.ip,
      });
      if (request.query.include !== 'identity')
        return { patients: ids.map((id) => ({ id, ...basisOf(id) })), next };
      // Identity is a category of its own: a patient may let their care team see their vitals
      // but not their name. Each name disclosed is a read of that patient's record, audited.
      const named = new Set(
        await deps.patients.listIdsIn(await deps.gate.readablePatients(request.identity, 'identity'), {
          ids: new Set(ids),
        }),
      );
      const patients = [];
      for (const id of ids) {
        const patient = named.has(id) ? await deps.patients.get(id) : undefined;
        if (!patient) {
          patients.push({ id, ...basisOf(id) });
          continue;
        }
        await deps.audit.append({
          actor,
          action: 'patient.read',
          patientId: id,
          resource: `Patient/${id}`,
          purpose: 'identity in the patient list',
          outcome: 'success',
          source: request.ip,
        });
        patients.push({
          id,
          name: patient.name,
          ...(patient.birthDate ? { birthDate: patient.birthDate } : {}),
          ...basisOf(id),
        });
      }
      return { patients, next };
    },
  );
}

/** A listed patient's basis; `glassExpiresMs`: the end of the caller's running grant, if any. */
function accessOf(
  role: Role | undefined,
  glassExpiresMs: number | undefined,
): { access: PatientAccessBasis; accessExpires?: string } {
  if (glassExpiresMs !== undefined)
    return { access: 'break-glass', accessExpires: new Date(glassExpiresMs).toISOString() };
  if (role === 'integration') return { access: 'integration' };
  if (role === 'admin') return { access: 'administration' };
  return { access: 'care-team' };
}
