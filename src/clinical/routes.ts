import { Type } from '@sinclair/typebox';
import { type App, actorOf } from '../server/http.ts';
import { registerSeriesRoutes, type SeriesRouteDeps } from './series-routes.ts';

export type ClinicalRouteDeps = SeriesRouteDeps;

export function registerClinicalRoutes(app: App, deps: ClinicalRouteDeps): void {
  registerPatientList(app, deps);
  registerSeriesRoutes(app, deps);
}

/** GET /api/v1/patients: the ids of the patients the caller may see. */
export function registerPatientList(
  app: App,
  deps: Pick<ClinicalRouteDeps, 'patients' | 'audit' | 'gate'>,
): void {
  app.get(
    '/api/v1/patients',
    {
      config: { access: { permission: 'patients:read' } },
      schema: {
        summary: 'List patient ids',
        security: [{ bearer: [] }],
        response: { 200: Type.Object({ patients: Type.Array(Type.Object({ id: Type.String() })) }) },
      },
    },
    async (request) => {
      // Administrators see every pseudonymous id to manage them; readers only their patients,
      // asked of the gate once and filtered in the query.
      const role = request.identity?.role;
      const scope = role === 'admin' ? undefined : await deps.gate.readablePatients(request.identity);
      const ids = await deps.patients.listIdsIn(scope);
      await deps.audit.append({
        actor: actorOf(request),
        action: 'patient.list',
        resource: 'Patient',
        outcome: 'success',
        source: request.ip,
      });
      return { patients: ids.map((id) => ({ id })) };
    },
  );
}
