import type { DeviceRow } from '../devices/devices.store.ts';
import { invalid, requireResource } from './patient-resource.ts';

/** Device as R4 (http://hl7.org/fhir/R4/device.html): identity, model, status and wearer. */
export function toFhirDevice(d: DeviceRow) {
  const quarantined = d.status === 'quarantined';
  return {
    resourceType: 'Device' as const,
    id: d.id,
    status: quarantined ? 'inactive' : 'active',
    ...(quarantined ? { statusReason: [{ text: 'quarantined' }] } : {}),
    serialNumber: d.serial,
    modelNumber: d.model,
    ...(d.firmware ? { version: [{ value: d.firmware }] } : {}),
    ...(d.patientId ? { patient: { reference: `Patient/${d.patientId}` } } : {}),
  };
}

export interface DeviceInput {
  id?: string;
  model: string;
  serial: string;
  patientId?: string;
}

const DEVICE_ELEMENTS = new Set([
  'resourceType',
  'id',
  'meta',
  'text',
  'status',
  'statusReason',
  'serialNumber',
  'modelNumber',
  'version',
  'patient',
]);

/**
 * Reads a Device body. Status and version are reported by Vigil (quarantine, firmware from the
 * device itself), so they are accepted but not taken from the client.
 */
export function fromFhirDevice(body: unknown): DeviceInput {
  const r = requireResource(body, 'Device', DEVICE_ELEMENTS);
  if (typeof r.modelNumber !== 'string' || typeof r.serialNumber !== 'string')
    throw invalid('a Device needs modelNumber and serialNumber');
  const patientId = r.patient === undefined ? undefined : referenceOf(r.patient, 'Device.patient', 'Patient');
  return {
    model: r.modelNumber,
    serial: r.serialNumber,
    ...(typeof r.id === 'string' ? { id: r.id } : {}),
    ...(patientId ? { patientId } : {}),
  };
}

/** The id a Reference element names; anything else (null, an array, no reference) is refused. */
export function referenceOf(element: unknown, path: string, type: string): string {
  const reference =
    typeof element === 'object' && element !== null && !Array.isArray(element)
      ? (element as { reference?: unknown }).reference
      : undefined;
  if (typeof reference !== 'string')
    throw invalid(`${path} must be a Reference like {"reference": "${type}/<id>"}`);
  return referenceId(reference, type);
}

/** "Patient/p-1" (or an absolute URL ending so) to "p-1". */
export function referenceId(reference: string | undefined, type: string): string {
  const m =
    reference === undefined
      ? null
      : // Relative, or absolute on a service base: "Device/Patient/p-1" names no patient.
        new RegExp(`^(?:https?://\\S+/)?${type}/([A-Za-z0-9.-]{1,64})$`).exec(reference);
  if (!m) throw invalid(`expected a reference like ${type}/<id>, got ${String(reference).slice(0, 80)}`);
  return m[1]!;
}
