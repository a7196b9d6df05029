import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { AccessRefusal, NO_CARE_TEAM_LINK } from '../access/access-facts.ts';
import { mayKnowEveryPatient } from '../access/patient-existence.ts';
import { requesterOf } from '../access/patient-gate.ts';
import { encodeCursor } from '../clinical/series-cursor.ts';
import { VigilError } from '../errors/catalogue.ts';
import type { App } from '../server/http.ts';
import { actorOf } from '../server/http.ts';
import { searchset, withParam } from './bundle.ts';
import { baseUrl, type FhirDeps, selfUrl, sendResource } from './fhir-context.ts';
import { deviceHash, parseObservationId } from './observation-id.ts';
import { ObservationPatients } from './observation-patients.ts';
import { toFhirObservation } from './observation-resource.ts';
import { FhirId } from './patient-routes.ts';
import { parseObservationSearch, type RawQuery } from './search-params.ts';

/** Observation: read and search over stored readings (Observation create is not offered yet). */
export function registerObservationResource(fhir: App, deps: FhirDeps): void {
  const audit = (request: FastifyRequest, patientId: string, resource: string) =>
    deps.audit.append({
      actor: actorOf(request),
      action: 'observation.read',
      patientId,
      resource,
      outcome: 'success',
      source: request.ip,
    });
  const observationPatients = new ObservationPatients(deps.db);

  fhir.get(
    '/Observation',
    {
      config: { access: { permission: 'observations:read' } },
      schema: {
        summary: 'FHIR search Observation (patient|subject, code, date, _sort, _count)',
        tags: ['FHIR'],
        security: [{ bearer: [] }],
      },
    },
    async (request, reply) => {
      const q = parseObservationSearch(request.query as RawQuery, Date.now());
      await deps.gate.mayRead(request.identity, q.patientId, request.ip);
      const page =
        q.codes && q.codes.size === 0
          ? { rows: [], next: undefined }
          : deps.series.page(q.patientId, {
              fromMs: q.fromMs,
              toMs: q.toMs,
              codes: q.codes,
              limit: q.count,
              descending: q.descending,
              after: q.after,
            });
      await audit(request, q.patientId, `Patient/${q.patientId}/Observation`);
      const self = selfUrl(request);
      const next = page.next ? withParam(self, '_cursor', encodeCursor(page.next)) : undefined;
      const resources = page.rows.map((r) => toFhirObservation(q.patientId, r, deps.registry));
      return sendResource(reply, 200, searchset(self, baseUrl(request), resources, next));
    },
  );

  fhir.get(
    '/Observation/:id',
    {
      config: { access: { permission: 'observations:read' } },
      schema: {
        summary: 'FHIR read Observation',
        tags: ['FHIR'],
        security: [{ bearer: [] }],
        params: Type.Object({ id: FhirId }),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const notFound = () => new VigilError('VIGIL_ERR_NOT_FOUND', `Observation/${id} does not exist`);
      const ref = parseObservationId(id);
      if (!ref) throw notFound();
      // Readings are vital signs to the gate (mayRead's default category), so is the scope.
      const patientId = await observationPatients.patientOf(ref.patientHash, () =>
        deps.gate.readablePatients(request.identity),
      );
      // The id holds an unkeyed hash of the patient's id: anyone can write one for a guessed id.
      // A caller who may not learn which patients exist gets, for a hash naming nobody, the
      // refusal of a patient outside their care team, and that refusal names the Observation,
      // not the patient (it would turn the hash back into the id).
      const isHidden = !mayKnowEveryPatient(requesterOf(request.identity).role);
      const refused = () =>
        new VigilError(
          'VIGIL_ERR_AUTH_FORBIDDEN',
          `${actorOf(request)} may not read the patient of Observation/${id}: ${NO_CARE_TEAM_LINK}`,
        );
      if (!patientId) {
        if (!isHidden) throw notFound();
        await deps.audit.append({
          actor: actorOf(request),
          action: 'patient.access',
          resource: `Observation/${id}`,
          outcome: 'denied',
          source: request.ip,
        });
        throw refused();
      }
      try {
        await deps.gate.mayRead(request.identity, patientId, request.ip);
      } catch (e) {
        // (The gate wrote its denied audit entry, naming the patient, for the trail's readers.)
        // A patient the gate calls unknown to this caller (an integration's refusing patient,
        // patient-existence.ts) is answered as a hash naming nobody is: the Observation does not
        // exist, and the patient is not named.
        if (e instanceof VigilError && e.code === 'VIGIL_ERR_PATIENT_UNKNOWN') throw notFound();
        const isNoLink = e instanceof AccessRefusal && e.reason === 'no-care-team-link';
        throw isHidden && isNoLink ? refused() : e;
      }
      const rows = deps.series.keyed(patientId, {
        fromMs: ref.tsMs,
        toMs: ref.tsMs,
        codes: new Set([ref.code]),
      });
      const row = rows.find((r) => r.n === ref.n && deviceHash(r.deviceId) === ref.deviceHash);
      if (!row) throw notFound();
      await audit(request, patientId, `Observation/${id}`);
      return sendResource(reply, 200, toFhirObservation(patientId, row, deps.registry));
    },
  );
}
