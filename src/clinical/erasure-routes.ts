import { Type } from '@sinclair/typebox';
import { VigilError } from '../errors/catalogue.ts';
import { ID_PATTERN } from '../errors/ids.ts';
import { type App, actorOf } from '../server/http.ts';

export interface ErasureDeps {
  /** Destroys the patient's key and does the bookkeeping; false if no such patient. */
  erase(patientId: string, actor: string, reason: string, source: string): Promise<boolean>;
}

export function registerErasureRoutes(app: App, deps: ErasureDeps): void {
  app.post(
    '/api/v1/patients/:id/erase',
    {
      config: { access: { permission: 'patients:erase' } },
      schema: {
        summary:
          "Erase a patient (GDPR art. 17): destroys the patient's data key, so identity and readings become unreadable; the audit trail stays",
        security: [{ bearer: [] }],
        params: Type.Object({ id: Type.String({ pattern: ID_PATTERN.source }) }),
        body: Type.Object(
          {
            reason: Type.String({ minLength: 10, maxLength: 500 }),
            confirm: Type.String({ description: 'the patient id again, to confirm' }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ id: Type.String(), erased: Type.String({ format: 'date-time' }) }) },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (request.body.confirm !== id) {
        throw new VigilError(
          'VIGIL_ERR_REQUEST_INVALID',
          'confirm must repeat the patient id; erasure cannot be undone',
        );
      }
      const actor = actorOf(request);
      if (!(await deps.erase(id, actor, request.body.reason, request.ip))) {
        throw new VigilError(
          'VIGIL_ERR_PATIENT_UNKNOWN',
          `no patient ${id} to erase (unknown, or erased before)`,
        );
      }
      return { id, erased: new Date().toISOString() };
    },
  );
}
