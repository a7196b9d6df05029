import type { TLSSocket } from 'node:tls';
import type { SecurityEvents } from '../detection/security-events.ts';
import type { DeviceDirectory } from '../devices/device-directory.ts';
import { identifyDevice } from '../devices/device-identity.ts';
import { isVigilError, VigilError } from '../errors/catalogue.ts';
import type { IngestPipeline } from '../ingest/pipeline.ts';
import type { App } from '../server/http.ts';
import { referenceOf } from './device-resource.ts';
import { baseUrl, type FhirDeps, sendResource } from './fhir-context.ts';
import { LOINC, toFhirObservation, UCUM } from './observation-resource.ts';
import { invalid, requireResource } from './patient-resource.ts';

export interface ObservationCreateDeps {
  pipeline: IngestPipeline;
  directory: DeviceDirectory;
  events: SecurityEvents;
}

const OBSERVATION_ELEMENTS = new Set([
  'resourceType',
  'meta',
  'status',
  'category',
  'code',
  'subject',
  'effectiveDateTime',
  'valueQuantity',
  'device',
]);

/**
 * A valueQuantity is stored as a number in the code's canonical unit; anything else in it
 * (comparator "<" or ">=" from a meter reading out of range, an extension) would be lost and
 * the stored reading would claim an exact value.
 */
const QUANTITY_ELEMENTS = new Set(['value', 'unit', 'system', 'code']);
/**
 * meta elements a create may carry: the server assigns versionId and lastUpdated (R4 §3.1.0.4.1,
 * create), and answers its own profile claim. Security labels and tags would restrict or
 * qualify the reading; Vigil keeps neither, so it refuses them rather than drop them.
 */
const META_ELEMENTS = new Set(['versionId', 'lastUpdated', 'profile']);

interface Coding {
  system?: string;
  code?: string;
}

/**
 * A reading as a telemetry payload, so a posted Observation meets exactly the checks of the
 * device protocol (code registry, UCUM unit and conversion, plausibility, clock, replay).
 */
export function observationToReading(body: unknown): {
  deviceId: string;
  subjectId: string | undefined;
  reading: { code: string; value: number; unit: string; ts: string };
} {
  const r = requireResource(body, 'Observation', OBSERVATION_ELEMENTS);
  // A stored reading is final and never revised (observation-resource.ts): a preliminary or
  // amended one would be answered as final.
  if (r.status !== 'final')
    throw invalid(
      `status ${String(r.status).slice(0, 40)} is not stored: Vigil keeps device readings as final and never revises them; post the reading once it is final`,
    );
  refuseUnknown(r.meta, META_ELEMENTS, 'meta');
  refuseUnknown(r.valueQuantity, QUANTITY_ELEMENTS, 'valueQuantity');
  const codings = (r.code as { coding?: unknown } | null | undefined)?.coding;
  const loinc = (Array.isArray(codings) ? (codings as Array<Coding | null>) : []).filter(
    (c): c is Coding => typeof c === 'object' && c !== null && c.system === LOINC,
  );
  if (loinc.length !== 1 || !loinc[0]!.code)
    throw invalid(`code needs exactly one coding with system ${LOINC}`);
  const q = r.valueQuantity as { value?: number; system?: string; code?: string } | undefined;
  if (!q || q.value === undefined || q.system !== UCUM || !q.code)
    throw invalid(`valueQuantity needs value, system ${UCUM} and a UCUM code`);
  if (typeof r.effectiveDateTime !== 'string' || !/T.*(Z|[+-]\d{2}:\d{2})$/.test(r.effectiveDateTime))
    throw invalid('effectiveDateTime must be a date-time with seconds and a time zone');
  return {
    deviceId: referenceOf(r.device, 'device', 'Device'),
    subjectId: r.subject === undefined ? undefined : referenceOf(r.subject, 'subject', 'Patient'),
    reading: { code: loinc[0]!.code, value: q.value, unit: q.code, ts: r.effectiveDateTime },
  };
}

function refuseUnknown(element: unknown, supported: ReadonlySet<string>, name: string): void {
  if (element === undefined || element === null || typeof element !== 'object') return;
  const unsupported = Object.keys(element).filter((k) => !supported.has(k));
  if (unsupported.length > 0)
    throw invalid(
      `Vigil does not store Observation.${name}.${unsupported.slice(0, 5).join(', ')}; send only ${[...supported].join(', ')} in ${name}`,
    );
}

/**
 * POST /fhir/R4/Observation for gateways and FHIR-speaking devices: the client certificate
 * identifies the device, as on the telemetry routes, and the Observation must name that
 * device. The answer (201) goes out after the commit, like an HTTP ingest 201.
 */
export function registerObservationCreate(fhir: App, deps: FhirDeps, ingest: ObservationCreateDeps): void {
  // One create at a time per device: each takes the next sequence number.
  const queues = new Map<string, Promise<unknown>>();

  fhir.post(
    '/Observation',
    {
      config: { access: { device: true } },
      schema: {
        summary: 'FHIR create Observation: one reading, with the device client certificate',
        tags: ['FHIR'],
      },
    },
    async (request, reply) => {
      const socket = request.raw.socket as TLSSocket;
      let deviceId: string | undefined;
      try {
        deviceId = identifyDevice(socket, ingest.directory);
        const { deviceId: named, subjectId, reading } = observationToReading(request.body);
        if (named !== deviceId)
          throw new VigilError(
            'VIGIL_ERR_MQTT_TOPIC_DENIED',
            `device ${deviceId} may not post readings of ${named}`,
          );
        const tsMs = Date.parse(reading.ts);
        const wearer = ingest.directory.patientAt(deviceId, tsMs);
        if (subjectId !== undefined && wearer !== undefined && subjectId !== wearer)
          throw invalid(
            `Device/${deviceId} was worn by another patient than Patient/${subjectId} at ${reading.ts}`,
          );
        const id = deviceId;
        const previous = queues.get(id) ?? Promise.resolve();
        const run = previous.then(async () => {
          // Clock-based sequence numbers, as devices use: above the last one, and above now.
          const seq = Math.max((ingest.directory.lastMessage(id)?.seq ?? 0) + 1, Date.now());
          const payload = JSON.stringify({ seq, ts: new Date().toISOString(), readings: [reading] });
          await ingest.pipeline.accept(id, Buffer.from(payload), 'http');
        });
        queues.set(
          id,
          run.catch(() => {}),
        );
        await run;
        const patientId = ingest.directory.patientAt(deviceId, tsMs)!;
        await deps.ensurePatientKey(patientId);
        const rows = deps.series
          .keyed(patientId, { fromMs: tsMs, toMs: tsMs, codes: new Set([reading.code]) })
          .filter((row) => row.deviceId === id);
        const stored = rows[rows.length - 1]!;
        const resource = toFhirObservation(patientId, stored, deps.registry);
        void reply.header('location', `${baseUrl(request)}/Observation/${resource.id}`);
        return sendResource(reply, 201, resource);
      } catch (e) {
        if (
          isVigilError(e) &&
          e.code !== 'VIGIL_ERR_INGEST_STORE_FAILED' &&
          e.code !== 'VIGIL_ERR_REQUEST_INVALID'
        ) {
          ingest.events.record({
            code: e.code,
            detail: e.detail,
            deviceId,
            remoteAddress: socket.remoteAddress,
          });
        }
        throw e;
      }
    },
  );
}
