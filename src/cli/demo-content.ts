/**
 * What `vigil demo` puts in besides the simulated fleet, so every dashboard screen shows
 * something real within a minute: the sim device models in the posture inventory with SBOMs
 * and advisories (the fixtures shipped in src/posture/fixtures), consent records for the sim
 * patients, and two refused requests that the security-events screen lists. Everything goes
 * through the domains' own services and the real HTTPS ingest, and running it again on a
 * restart adds nothing twice.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { SimDevice } from '../../sim/fleet.ts';
import { PatientAccess } from '../access/patient-access.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { importAdvisoryPaths } from '../posture/advisory-import.ts';
import { PostureStore } from '../posture/posture.store.ts';
import { importSbom, modelFrom } from '../posture/posture-service.ts';
import type { Schema } from '../store/schema.ts';

const ACTOR = 'cli:demo';
const FIXTURES = join(import.meta.dirname, '..', 'posture', 'fixtures');
const DAY_MS = 86_400_000;

const dateIn = (days: number, nowMs: number) => new Date(nowMs + days * DAY_MS).toISOString().slice(0, 10);

/**
 * The sim models (src/cli/sim-provision.ts) and the firmware their devices report
 * (sim/device-runner.ts). Their SBOMs are the InfuPro fixtures: the older one carries lodash,
 * zlib and busybox versions with published advisories, the newer one fixes them. End-of-support
 * dates are relative to today so the demo always shows one model near its end and one past it.
 */
function demoModels(nowMs: number) {
  const base = { manufacturer: 'Vigil Sim Devices', encryption: 'in-transit', authentication: 'certificate' };
  return [
    {
      ...base,
      model: 'SimCGM G7',
      deviceClass: 'continuous glucose monitor',
      criticality: 'diagnostic',
      patchability: 'remote',
      endOfSupport: dateIn(3 * 365, nowMs),
      firmware: '3.2.1',
      sbom: 'infupro-2.3.0.cdx.json',
    },
    {
      ...base,
      model: 'SimOx 300',
      deviceClass: 'pulse oximeter',
      criticality: 'monitoring',
      patchability: 'manual',
      endOfSupport: dateIn(60, nowMs),
      firmware: '1.8.0',
      sbom: 'infupro-2.3.0.spdx.json',
    },
    {
      ...base,
      model: 'SimBP 5',
      deviceClass: 'blood-pressure monitor',
      criticality: 'diagnostic',
      patchability: 'vendor-onsite',
      endOfSupport: dateIn(-200, nowMs),
      firmware: '2.0.4',
      sbom: 'infupro-2.4.1.cdx.json',
    },
    {
      ...base,
      model: 'SimTemp 2',
      deviceClass: 'thermometer',
      criticality: 'wellness',
      patchability: 'remote',
      endOfSupport: dateIn(5 * 365, nowMs),
      firmware: '1.1.7',
      sbom: 'infupro-2.4.1.spdx.json',
    },
  ] as const;
}

export interface DemoPostureResult {
  models: number;
  sboms: number;
  advisoryFiles: number;
}

export async function seedDemoPosture(
  db: Kysely<Schema>,
  sqlite: BetterSqlite3.Database | undefined,
  audit: AuditLog,
  nowMs = Date.now(),
): Promise<DemoPostureResult> {
  const store = new PostureStore(db, sqlite);
  let sboms = 0;
  for (const m of demoModels(nowMs)) {
    const { firmware, sbom, ...model } = m;
    const outcome = await store.upsertModel(modelFrom(model));
    if (outcome !== 'unchanged')
      await audit.append({
        actor: ACTOR,
        action: 'posture.model.put',
        resource: `DeviceModel/${m.model}`,
        outcome: 'success',
      });
    const text = readFileSync(join(FIXTURES, sbom), 'utf8');
    const imported = await importSbom(store, { model: m.model, firmware, text, source: sbom });
    if (imported.outcome !== 'unchanged') {
      sboms++;
      await audit.append({
        actor: ACTOR,
        action: 'posture.sbom.import',
        resource: `Sbom/${m.model}@${firmware}`,
        outcome: 'success',
      });
    }
  }
  // Finished files are skipped by content hash, so a restart imports nothing again.
  const advisories = await importAdvisoryPaths(store, [join(FIXTURES, 'advisories')]);
  if (advisories.files > advisories.skippedFiles)
    await audit.append({
      actor: ACTOR,
      action: 'posture.advisories.import',
      resource: 'AdvisoryFile/demo-fixtures',
      outcome: 'success',
    });
  return {
    models: demoModels(nowMs).length,
    sboms,
    advisoryFiles: advisories.files - advisories.skippedFiles,
  };
}

/**
 * Each sim patient permits treatment use of all their data; the first one also refuses
 * research, so the Consent screen shows both decisions. Patients with records are left alone.
 */
export async function seedDemoConsents(
  db: Kysely<Schema>,
  sqlite: BetterSqlite3.Database | undefined,
  audit: AuditLog,
  patientIds: readonly string[],
): Promise<number> {
  const access = new PatientAccess(db, sqlite);
  const simPatients = patientIds.filter((id) => id.startsWith('sim-patient-')).sort();
  let recorded = 0;
  for (const [i, patientId] of simPatients.entries()) {
    if ((await access.consents(patientId)).length > 0) continue;
    const decisions = [
      { decision: 'permit' as const, purposes: ['treatment' as const] },
      ...(i === 0 ? [{ decision: 'deny' as const, purposes: ['research' as const] }] : []),
    ];
    for (const d of decisions) {
      const record = await access.recordConsent(
        patientId,
        { ...d, categories: ['*'], periodStart: Date.now(), periodEnd: null },
        ACTOR,
      );
      await audit.append({
        actor: ACTOR,
        action: `consent.${d.decision}`,
        patientId,
        resource: `Consent/${record.id}`,
        purpose: d.purposes.join(','),
        outcome: 'success',
      });
      recorded++;
    }
  }
  return recorded;
}

/** POSTs telemetry over HTTPS and returns the status code (the body is a problem document). */
function postTelemetry(
  serverUrl: string,
  caPem: string,
  deviceId: string,
  client?: { keyPem: string; certPem: string },
): Promise<number> {
  const body = JSON.stringify({ seq: 1, ts: new Date().toISOString(), readings: [] });
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(`/api/v1/devices/${encodeURIComponent(deviceId)}/telemetry`, serverUrl),
      {
        method: 'POST',
        ca: caPem,
        ...(client ? { key: client.keyPem, cert: client.certPem } : {}),
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Two probes the ingest must refuse, made once at start so the security-events screen is not
 * empty: a client without a certificate posting as a device, and one device posting for
 * another. They go through the real HTTPS ingest, which records each refusal as it would an attack.
 */
export async function probeDemoSecurity(
  serverUrl: string,
  caPem: string,
  devices: readonly SimDevice[],
): Promise<number[]> {
  const [first, second] = devices;
  if (!first) return [];
  const statuses = [await postTelemetry(serverUrl, caPem, first.deviceId)];
  if (second) statuses.push(await postTelemetry(serverUrl, caPem, second.deviceId, first));
  return statuses;
}
