import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { mayKnowEveryPatient } from '../access/patient-existence.ts';
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
 * and with the same rule: the consents:read permission, an audited consent.read per patient.
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
      // A clinician's search for an unknown patient finds nothing, as for a registered patient
      // with no records (and is audited alike): a 404 would let them probe which ids exist.
      const role = request.identity?.role;
      const exists = await deps.patients.exists(q.patientId);
      if (!exists && (!role || mayKnowEveryPatient(role)))
        throw new VigilError('VIGIL_ERR_PATIENT_UNKNOWN', `Patient/${q.patientId} is not registered`);
      // An erased patient's records are gone with them (read all the same, for the same time).
      const stored = await deps.access.consents(q.patientId);
      const resources = (exists ? stored : [])
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
      const row = await deps.db
        .selectFrom('consents')
        .select('patient_id')
        .where('id', '=', id)
        .executeTakeFirst();
      // An erased patient's consents are gone with them, as in the REST route.
      const patientId = row && (await deps.patients.exists(row.patient_id)) ? row.patient_id : undefined;
      const record = patientId ? (await deps.access.consents(patientId)).find((c) => c.id === id) : undefined;
      if (!patientId || !record) throw new VigilError('VIGIL_ERR_NOT_FOUND', `Consent/${id} does not exist`);
      await audit(request, patientId, `Consent/${id}`);
      return sendResource(reply, 200, toFhirConsent(patientId, record));
    },
  );
}
