import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { ConsentRecord } from '../access/consent.ts';
import { readConsents } from '../access/patient-gate.ts';
import { VigilError } from '../errors/catalogue.ts';
import type { App } from '../server/http.ts';
import { actorOf } from '../server/http.ts';
import { searchset } from './bundle.ts';
import { toFhirConsent } from './consent-resource.ts';
import { parseConsentSearch } from './export-params.ts';
import { baseUrl, type FhirDeps, selfUrl, sendResource } from './fhir-context.ts';
import { FhirId } from './patient-routes.ts';
import type { RawQuery } from './search-params.ts';

/**
 * Consent: read and search by patient, over the consent records of /api/v1/patients/{id}/consents
 * and with the same rule: the consents:read permission, for a clinician a care-team link or
 * break-glass grant (patient-gate.ts readConsents), an audited consent.read per patient.
 */
export function registerConsentResource(fhir: App, deps: FhirDeps): void {
  const audit = (request: FastifyRequest, patientId: string, resource: string) =>
    deps.audit.append({
      actor: actorOf(request),
      action: 'consent.read',
      patientId,
      resource,
      outcome: 'success',
      source: request.ip,
    });

  fhir.get(
    '/Consent',
    {
      config: { access: { permission: 'consents:read' } },
      schema: {
        summary: 'FHIR search Consent (patient, status)',
        tags: ['FHIR'],
        security: [{ bearer: [] }],
      },
    },
    async (request, reply) => {
      const q = parseConsentSearch(request.query as RawQuery);
      // As the REST read: a clinician only for a patient of their care team or their own
      // break-glass grant; a foreign or unknown id is refused alike (patient-gate.ts).
      const records = await readConsents(deps.access, deps.audit, request.identity, q.patientId, request.ip);
      const resources = records
        .sort((a, b) => b.recordedAt - a.recordedAt)
        .map((c) => toFhirConsent(q.patientId, c))
        .filter((c) => q.status === undefined || c.status === q.status);
      await audit(request, q.patientId, `Patient/${q.patientId}/Consent`);
      return sendResource(
        reply,
        200,
        searchset(selfUrl(request), baseUrl(request), resources, undefined, resources.length),
      );
    },
  );

  fhir.get(
    '/Consent/:id',
    {
      config: { access: { permission: 'consents:read' } },
      schema: {
        summary: 'FHIR read Consent',
        tags: ['FHIR'],
        security: [{ bearer: [] }],
        params: Type.Object({ id: FhirId }),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const notFound = () => new VigilError('VIGIL_ERR_NOT_FOUND', `Consent/${id} does not exist`);
      const row = await deps.db
        .selectFrom('consents')
        .select('patient_id')
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) throw notFound();
      const patientId = row.patient_id;
      let records: ConsentRecord[];
      try {
        records = await readConsents(deps.access, deps.audit, request.identity, patientId, request.ip);
      } catch (e) {
        // A consent of a patient the caller may not read (denied and audited by readConsents),
        // or of an erased one (gone with them, as in the REST route), does not exist to them: a
        // 403 would name its patient, and tie the consent id to them.
        const isHidden =
          e instanceof VigilError &&
          ['VIGIL_ERR_AUTH_FORBIDDEN', 'VIGIL_ERR_PATIENT_UNKNOWN', 'VIGIL_ERR_PATIENT_ERASED'].includes(
            e.code,
          );
        throw isHidden ? notFound() : e;
      }
      const record = records.find((c) => c.id === id);
      if (!record) throw notFound();
      await audit(request, patientId, `Consent/${id}`);
      return sendResource(reply, 200, toFhirConsent(patientId, record));
    },
  );
}
