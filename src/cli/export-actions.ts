/** What `vigil patient export` does, once export-commands.ts has parsed its flags. */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import pino from 'pino';
import {
  auditedPurpose,
  EXPORT_REASON_EXAMPLE,
  type ExportPurpose,
  type ExportRequest,
  exportReason,
  isIdentifiedPatientRequest,
  requireExportConsent,
} from '../access/export-access.ts';
import { PatientAccess } from '../access/patient-access.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { PatientStore } from '../clinical/patients.store.ts';
import { SeriesStore } from '../clinical/series.store.ts';
import { SeriesReader } from '../clinical/series.ts';
import { SecurityEvents } from '../detection/security-events.ts';
import { DeviceStore } from '../devices/devices.store.ts';
import { VigilError } from '../errors/catalogue.ts';
import { isValidId } from '../errors/ids.ts';
import { createDeidentifier } from '../fhir/deidentify.ts';
import { DEIDENTIFY_KEY_OWNER } from '../fhir/everything-routes.ts';
import { everythingBundle, PROGRESS_EVERY } from '../fhir/patient-everything.ts';
import { CodeRegistry } from '../ingest/vital-codes.ts';
import { createMetrics } from '../observability/metrics.ts';
import { replaceFileFrom, requireFolderOf } from '../store/replace-file.ts';
import { type CommonFlags, cliActor, serverUrl } from './context.ts';
import { openLocal } from './open-local.ts';
import { emit } from './output.ts';

export interface ExportFlags extends CommonFlags {
  out?: string;
  force?: boolean;
  purpose: ExportPurpose;
  deidentified?: boolean;
  reason?: string;
}

/**
 * The export asked for. An identified export on the patient's own request names that request
 * (--reason), as through the API: it is the one export consent does not restrict, so the
 * reason is all that stands behind it in the audit trail and the security officer's events.
 */
function exportRequest(o: ExportFlags): ExportRequest {
  const req: ExportRequest = {
    purpose: o.purpose,
    deidentified: o.deidentified === true,
    ...(o.reason === undefined ? {} : { reason: exportReason(o.reason) }),
  };
  if (req.reason !== undefined && !isIdentifiedPatientRequest(req))
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      "--reason names a patient's own request: give it with --purpose patient-request, without --deidentified",
    );
  if (isIdentifiedPatientRequest(req) && req.reason === undefined)
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `an identified export on the patient's own request needs --reason naming that request, e.g. --reason "${EXPORT_REASON_EXAMPLE}"; it is audited and reported to the security officer`,
    );
  return req;
}

export async function patientExport(id: string, o: ExportFlags): Promise<void> {
  if (!isValidId(id))
    throw new VigilError('VIGIL_ERR_REQUEST_INVALID', `patient id "${id.slice(0, 64)}" is not valid`);
  // As vigil backup does: the rename at the end would silently replace whatever --out names.
  if (o.out !== undefined && existsSync(o.out) && o.force !== true)
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `${o.out} exists; choose another --out or pass --force to replace it`,
    );
  const req = exportRequest(o);
  if (o.out !== undefined) requireFolderOf(o.out);
  const { store, keys, config } = await openLocal(o);
  try {
    if (!store.sqlite)
      throw new VigilError(
        'VIGIL_ERR_CONFIG_INVALID',
        'export reads readings from SQLite; unset VIGIL_DATABASE_URL',
      );
    const patients = new PatientStore(store.db, keys);
    if (!(await patients.exists(id))) {
      const why = (await patients.isErased(id)) ? 'was erased' : 'is not registered';
      throw new VigilError('VIGIL_ERR_PATIENT_UNKNOWN', `patient ${id} ${why}`);
    }
    const access = new PatientAccess(store.db);
    const audit = new AuditLog(store.db);
    const entry = {
      actor: cliActor(),
      action: 'patient.export',
      patientId: id,
      resource: `Patient/${id}/$everything${req.deidentified ? '?_deidentify=safe-harbor' : ''}`,
      purpose: auditedPurpose(req),
    };
    try {
      requireExportConsent(await access.consents(id), id, req, Date.now());
    } catch (e) {
      await audit.append({ ...entry, outcome: 'denied' });
      throw e;
    }
    await keys.dataKey('patient', id);
    const seriesStore = new SeriesStore(store.sqlite, (p) => {
      const key = keys.cachedDataKey('patient', p);
      if (!key) throw new Error(`data key of patient ${p} is not loaded`);
      return key;
    });
    const stats = { observations: 0, devices: 0, consents: 0 };
    const pieces = everythingBundle(
      {
        db: store.db,
        patients,
        devices: new DeviceStore(store.db),
        series: new SeriesReader(seriesStore),
        seriesStore,
        registry: new CodeRegistry(),
        consents: (p) => access.consents(p),
      },
      id,
      {
        baseUrl: `${serverUrl(config)}/fhir/R4`,
        ...(req.deidentified
          ? { deidentifier: createDeidentifier(await keys.dataKey('system', DEIDENTIFY_KEY_OWNER), id) }
          : {}),
        onProgress: (n) => {
          if (n > 0 && n % PROGRESS_EVERY === 0) process.stderr.write(`vigil: ${n} observations exported…\n`);
        },
      },
      stats,
    );
    // Audited before the first byte leaves; a write that then fails is audited as a failure.
    await audit.append({ ...entry, outcome: 'success' });
    if (isIdentifiedPatientRequest(req)) {
      // Stored for the security officer's list, as the API's export reports it.
      const events = new SecurityEvents(store.db, pino({ level: 'silent' }), createMetrics());
      events.record({
        code: 'VIGIL_ERR_EXPORT_PATIENT_REQUEST',
        detail: `${entry.actor} exported patient ${id}'s identified record on the patient's own request; reason is in the audit trail`,
      });
      await events.flush();
    }
    try {
      await writeBundle(pieces, o.out);
    } catch (e) {
      await audit.append({ ...entry, outcome: 'failure' });
      throw e;
    }
    const summary = `patient ${id}: ${stats.observations} observations, ${stats.devices} devices, ${stats.consents} consents${req.deidentified ? ' (de-identified)' : ''}`;
    if (o.out) {
      emit(
        o,
        { id, out: o.out, purpose: req.purpose, deidentified: req.deidentified, ...stats },
        [`exported ${summary} to ${o.out}`],
        o.out,
      );
    } else {
      process.stderr.write(`vigil: exported ${summary}\n`);
    }
  } finally {
    await store.close();
  }
}

/**
 * Writes the pieces with backpressure, to stdout or to a file. A file is written beside its
 * name, fsynced and renamed at the end (then its folder fsynced), so a failed export or a power
 * loss leaves no half Bundle under the name; it is exactly 0600 from the start (PHI), even over
 * a `.partial` left by a crash.
 */
export async function writeBundle(pieces: AsyncIterable<string>, out: string | undefined): Promise<void> {
  if (out) return replaceFileFrom(out, pieces, 0o600, { temp: `${out}.partial` });
  const sink: Writable = process.stdout;
  for await (const piece of pieces) {
    if (!sink.write(piece)) await once(sink, 'drain');
  }
  sink.write('\n');
}
