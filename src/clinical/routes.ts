import { Type } from '@sinclair/typebox';
import { type App, actorOf } from '../server/http.ts';
import { registerSeriesRoutes, type SeriesRouteDeps } from './series-routes.ts';

export type ClinicalRouteDeps = SeriesRouteDeps;

export function registerClinicalRoutes(app: App, deps: ClinicalRouteDeps): void {
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
      const all = await deps.patients.listIds();
      // Administrators see every pseudonymous id to manage them; readers only their patients.
      const role = request.identity?.role;
      const readable = role === 'admin' ? undefined : await deps.gate.readable(request.identity, all);
      const ids = readable ? all.filter((id) => readable.has(id)) : all;
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

  registerSeriesRoutes(app, deps);
}
