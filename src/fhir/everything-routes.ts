import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { auditedPurpose, type ExportRequest, isIdentifiedPatientRequest } from '../access/export-access.ts';
import type { App } from '../server/http.ts';
import { actorOf } from '../server/http.ts';
import { createDeidentifier } from './deidentify.ts';
import { parseEverythingQuery } from './export-params.ts';
import { baseUrl, FHIR_JSON, type FhirDeps, selfUrl } from './fhir-context.ts';
import { everythingBundle } from './patient-everything.ts';
import { FhirId } from './patient-routes.ts';
import type { RawQuery } from './search-params.ts';

/** Key ring owner of the key behind pseudonyms and date shifts in de-identified exports. */
export const DEIDENTIFY_KEY_OWNER = 'deidentify-safe-harbor';

/**
 * GET /fhir/R4/Patient/{id}/$everything: the patient's whole record as one searchset Bundle,
 * streamed; `_deidentify=safe-harbor` for the HIPAA Safe Harbor form, `purpose=` (default
 * treatment) for what the export is for, and `reason=` naming the patient's request that an
 * identified purpose=patient-request export answers. Gated by the export rules (src/access/export-access.ts)
 * and audited as patient.export with the purpose.
 */
export function registerPatientEverything(fhir: App, deps: FhirDeps): void {
  fhir.get(
    '/Patient/:id/$everything',
    {
      config: { access: { permission: 'patients:export' } },
      schema: {
        summary:
          'FHIR Patient $everything: Patient, Devices, Consents and every Observation as a streamed searchset Bundle (purpose=, _deidentify=safe-harbor; reason= with purpose=patient-request)',
        tags: ['FHIR'],
        security: [{ bearer: [] }],
        params: Type.Object({ id: FhirId }),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const q = parseEverythingQuery(request.query as RawQuery);
      const req: ExportRequest = {
        purpose: q.purpose ?? 'treatment',
        deidentified: q.deidentified,
        ...(q.reason === undefined ? {} : { reason: q.reason }),
      };
      await deps.exportGate.mayExport(request.identity, id, req, request.ip);
      const entry = {
        actor: actorOf(request),
        action: 'patient.export',
        patientId: id,
        resource: `Patient/${id}/$everything${q.deidentified ? '?_deidentify=safe-harbor' : ''}`,
        purpose: auditedPurpose(req),
        source: request.ip,
      };
      const deidentifier = q.deidentified
        ? createDeidentifier(await deps.keys.dataKey('system', DEIDENTIFY_KEY_OWNER), id)
        : undefined;
      const pieces = everythingBundle(deps.everything, id, {
        baseUrl: baseUrl(request),
        selfUrl: selfUrl(request),
        ...(deidentifier ? { deidentifier } : {}),
      });
      // The first piece (Patient, Devices, Consents) is read before anything is sent, so a
      // failure there still answers with an OperationOutcome rather than a cut-off body.
      const head = await pieces.next();
      await deps.audit.append({ ...entry, outcome: 'success' });
      // The security officer hears of each one, as of each break-glass: the reason given is
      // all that stands behind it.
      if (isIdentifiedPatientRequest(req))
        deps.events.record({
          code: 'VIGIL_ERR_EXPORT_PATIENT_REQUEST',
          detail: `${entry.actor} exported patient ${id}'s identified record on the patient's own request; reason is in the audit trail`,
          remoteAddress: request.ip,
        });
      const body = Readable.from(
        (async function* () {
          if (!head.done) yield head.value;
          yield* pieces;
        })(),
      );
      body.on('error', (err) => {
        request.log.error({ err }, 'patient export failed while streaming');
        void deps.audit.append({ ...entry, outcome: 'failure' }).catch(() => {});
      });
      return reply.code(200).type(FHIR_JSON).send(body);
    },
  );
}
