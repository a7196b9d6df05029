import { randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { VigilError } from '../errors/catalogue.ts';
import { isValidId } from '../errors/ids.ts';
import type { App } from '../server/http.ts';
import { actorOf } from '../server/http.ts';
import { searchset, withParam } from './bundle.ts';
import { baseUrl, type FhirDeps, selfUrl, sendResource } from './fhir-context.ts';
import { updatePatientIdentity } from './patient-identity.store.ts';
import { fromFhirPatient, invalid, toFhirPatient } from './patient-resource.ts';
import { parseCount, parseIds, type RawQuery, valuesOf } from './search-params.ts';

export const FhirId = Type.String({ pattern: '^[A-Za-z0-9\\-\\.]{1,64}$' });

/** What the Patient resource needs of the facade's dependencies. */
export type PatientResourceDeps = Pick<FhirDeps, 'patients' | 'audit' | 'gate' | 'db' | 'keys'>;

/** Patient: read, search (_id), create (server-assigned id), update (also as create). */
export function registerPatientResource(fhir: App, deps: PatientResourceDeps): void {
  const audit = (request: FastifyRequest, action: string, patientId?: string) =>
    deps.audit.append({
      actor: actorOf(request),
      action,
      resource: patientId ? `Patient/${patientId}` : 'Patient',
      ...(patientId ? { patientId } : {}),
      outcome: 'success',
      source: request.ip,
    });
  const read = async (request: FastifyRequest | undefined, id: string) => {
    // Reads pass the gate; a create or update echoes back what its writer just sent (undefined).
    // The gate answers an unknown id too: 404 to a caller who may know every patient, else the
    // 403 of a patient outside the caller's care team (no probing which ids exist).
    if (request) await deps.gate.mayRead(request.identity, id, request.ip, 'identity');
    const p = await deps.patients.get(id);
    if (!p) throw new VigilError('VIGIL_ERR_PATIENT_UNKNOWN', `Patient/${id} is not registered`);
    return toFhirPatient(p);
  };

  fhir.get(
    '/Patient/:id',
    {
      config: { access: { permission: 'patients:read' } },
      schema: {
        summary: 'FHIR read Patient',
        tags: ['FHIR'],
        security: [{ bearer: [] }],
        params: Type.Object({ id: FhirId }),
      },
    },
    async (request, reply) => {
      const resource = await read(request, request.params.id);
      await audit(request, 'patient.read', request.params.id);
      return sendResource(reply, 200, resource);
    },
  );

  fhir.get(
    '/Patient',
    {
      config: { access: { permission: 'patients:read' } },
      schema: { summary: 'FHIR search Patient (_id, _count)', tags: ['FHIR'], security: [{ bearer: [] }] },
    },
    async (request, reply) => {
      const values = valuesOf(request.query as RawQuery, ['_id', '_count', '_cursor']);
      const ids = parseIds(values);
      const count = parseCount(values);
      const after = values.get('_cursor')?.[0];
      if (after !== undefined && !isValidId(after))
        throw invalid('_cursor is not a page token from this server');
      // A search finds only the patients the caller may read (care team, consent, break-glass),
      // asked of the gate once and filtered in the query: a page reads its own patients only.
      // In the category each hit is read under (identity): a patient whose consent refuses
      // identity is not found, rather than failing the whole search with a 403.
      const scope = await deps.gate.readablePatients(request.identity, 'identity');
      const total = await deps.patients.countIn(scope, ids);
      // One more than the page: whether a next page exists.
      const rest = await deps.patients.listIdsIn(scope, { ids, afterId: after, limit: count + 1 });
      const page = rest.slice(0, count);
      const resources = [];
      for (const id of page) {
        resources.push(await read(request, id));
        await audit(request, 'patient.read', id);
      }
      const next =
        rest.length > count ? withParam(selfUrl(request), '_cursor', page[page.length - 1]!) : undefined;
      return sendResource(reply, 200, searchset(selfUrl(request), baseUrl(request), resources, next, total));
    },
  );

  fhir.post(
    '/Patient',
    {
      config: { access: { permission: 'patients:write' } },
      schema: {
        summary: 'FHIR create Patient (the server assigns the id)',
        tags: ['FHIR'],
        security: [{ bearer: [] }],
      },
    },
    async (request, reply) => {
      const { id: _ignored, ...identity } = fromFhirPatient(request.body);
      // FHIR create ignores a client id (R4 §3.1.0.7.1); PUT /Patient/{id} chooses one.
      const id = `pat-${randomBytes(6).toString('hex')}`;
      await deps.patients.add(id, identity);
      await audit(request, 'patient.create', id);
      void reply.header('location', `${baseUrl(request)}/Patient/${id}`);
      return sendResource(reply, 201, await read(undefined, id));
    },
  );

  fhir.put(
    '/Patient/:id',
    {
      config: { access: { permission: 'patients:write' } },
      schema: {
        summary: 'FHIR update Patient (creates it when the id is new)',
        tags: ['FHIR'],
        security: [{ bearer: [] }],
        params: Type.Object({ id: FhirId }),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { id: bodyId, ...identity } = fromFhirPatient(request.body);
      if (bodyId !== id)
        throw invalid(`the body's id (${String(bodyId).slice(0, 64)}) must equal the id in the URL (${id})`);
      const exists = await deps.patients.exists(id);
      if (exists) await updatePatientIdentity(deps.db, deps.keys, id, identity);
      else await deps.patients.add(id, identity);
      await audit(request, exists ? 'patient.update' : 'patient.create', id);
      if (!exists) void reply.header('location', `${baseUrl(request)}/Patient/${id}`);
      return sendResource(reply, exists ? 200 : 201, await read(undefined, id));
    },
  );
}
