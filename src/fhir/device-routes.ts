import { randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { VigilError } from '../errors/catalogue.ts';
import { isValidId } from '../errors/ids.ts';
import type { App } from '../server/http.ts';
import { actorOf } from '../server/http.ts';
import { searchset, withParam } from './bundle.ts';
import { fromFhirDevice, toFhirDevice } from './device-resource.ts';
import { baseUrl, type FhirDeps, selfUrl, sendResource } from './fhir-context.ts';
import { invalid } from './patient-resource.ts';
import { FhirId } from './patient-routes.ts';
import { parseCount, parseIds, parseReference, type RawQuery, valuesOf } from './search-params.ts';

/**
 * Device: read, search (_id, patient), create, update. An update may move the device to
 * another patient (from now on, as "vigil device assign" does); model and serial number are
 * the device's identity and cannot change, and status and firmware are reported, not set.
 */
export function registerDeviceResource(fhir: App, deps: FhirDeps): void {
  const audit = (request: FastifyRequest, action: string, deviceId: string, patientId?: string) =>
    deps.audit.append({
      actor: actorOf(request),
      action,
      resource: `Device/${deviceId}`,
      ...(patientId ? { patientId } : {}),
      outcome: 'success',
      source: request.ip,
    });
  const read = async (id: string) => {
    const d = await deps.devices.get(id);
    if (!d) throw new VigilError('VIGIL_ERR_DEVICE_UNKNOWN', `Device/${id} is not registered`);
    return d;
  };

  fhir.get(
    '/Device/:id',
    {
      config: { access: { permission: 'devices:read' } },
      schema: {
        summary: 'FHIR read Device',
        tags: ['FHIR'],
        security: [{ bearer: [] }],
        params: Type.Object({ id: FhirId }),
      },
    },
    async (request, reply) => sendResource(reply, 200, toFhirDevice(await read(request.params.id))),
  );

  fhir.get(
    '/Device',
    {
      config: { access: { permission: 'devices:read' } },
      schema: {
        summary: 'FHIR search Device (_id, patient, _count)',
        tags: ['FHIR'],
        security: [{ bearer: [] }],
      },
    },
    async (request, reply) => {
      const values = valuesOf(request.query as RawQuery, ['_id', 'patient', '_count', '_cursor']);
      const ids = parseIds(values);
      const patients = values.get('patient')?.map((p) => parseReference(p, 'Patient', 'patient'));
      const count = parseCount(values);
      const after = values.get('_cursor')?.[0];
      if (after !== undefined && !isValidId(after))
        throw invalid('_cursor is not a page token from this server');
      const matching = (await deps.devices.list()).filter(
        (d) =>
          (!ids || ids.has(d.id)) && (!patients || (d.patientId !== null && patients.includes(d.patientId))),
      );
      const rest = after === undefined ? matching : matching.filter((d) => d.id > after);
      const page = rest.slice(0, count);
      const next =
        rest.length > count ? withParam(selfUrl(request), '_cursor', page[page.length - 1]!.id) : undefined;
      return sendResource(
        reply,
        200,
        searchset(selfUrl(request), baseUrl(request), page.map(toFhirDevice), next, matching.length),
      );
    },
  );

  fhir.post(
    '/Device',
    {
      config: { access: { permission: 'devices:write' } },
      schema: {
        summary: 'FHIR create Device (the server assigns the id)',
        tags: ['FHIR'],
        security: [{ bearer: [] }],
      },
    },
    async (request, reply) => {
      const input = fromFhirDevice(request.body);
      const id = `dev-${randomBytes(6).toString('hex')}`;
      // Checked first: a device registered but left unassigned and unaudited helps nobody.
      if (input.patientId) await deps.devices.requirePatient(input.patientId);
      await deps.devices.add({ id, model: input.model, serial: input.serial });
      if (input.patientId) await deps.devices.assign(id, input.patientId);
      await deps.refreshDevices();
      await audit(request, 'device.create', id, input.patientId);
      void reply.header('location', `${baseUrl(request)}/Device/${id}`);
      return sendResource(reply, 201, toFhirDevice(await read(id)));
    },
  );

  fhir.put(
    '/Device/:id',
    {
      config: { access: { permission: 'devices:write' } },
      schema: {
        summary: 'FHIR update Device (reassign to a patient)',
        tags: ['FHIR'],
        security: [{ bearer: [] }],
        params: Type.Object({ id: FhirId }),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const input = fromFhirDevice(request.body);
      if (input.id !== id)
        throw invalid(
          `the body's id (${String(input.id).slice(0, 64)}) must equal the id in the URL (${id})`,
        );
      const current = await read(id);
      if (input.model !== current.model || input.serial !== current.serial)
        throw invalid(
          'modelNumber and serialNumber identify the device and cannot change; register a new Device',
        );
      if (input.patientId === undefined && current.patientId !== null)
        throw invalid('a Device cannot be unassigned through FHIR; assign it to another Patient instead');
      if (input.patientId !== undefined && input.patientId !== current.patientId) {
        await deps.devices.assign(id, input.patientId);
        await deps.refreshDevices();
        await audit(request, 'device.assign', id, input.patientId);
      }
      return sendResource(reply, 200, toFhirDevice(await read(id)));
    },
  );
}
