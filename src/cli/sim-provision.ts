import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { DeviceKind, SimDevice } from '../../sim/fleet.ts';
import { PatientStore } from '../clinical/patients.store.ts';
import type { KeyRing } from '../crypto/key-ring.ts';
import { DeviceStore } from '../devices/devices.store.ts';
import { type EnrolledCredentials, enrollDevice, renewDevice } from '../devices/enroll-client.ts';
import { certificateInfo } from '../pki/certificate-info.ts';
import { replaceFile } from '../store/replace-file.ts';
import type { Schema } from '../store/schema.ts';

const KINDS: Array<{ kind: DeviceKind; model: string }> = [
  { kind: 'cgm', model: 'SimCGM G7' },
  { kind: 'pulse-oximeter', model: 'SimOx 300' },
  { kind: 'bp-cuff', model: 'SimBP 5' },
  { kind: 'thermometer', model: 'SimTemp 2' },
];

const FIRST_NAMES = [
  'Ada',
  'Bram',
  'Chloe',
  'Dev',
  'Eun',
  'Femi',
  'Greta',
  'Hiro',
  'Ines',
  'Jonas',
  'Kai',
  'Lena',
];
const LAST_NAMES = ['Okafor', 'Novak', 'Lindqvist', 'Haddad', 'Moreau', 'Tanaka', 'Silva', 'Keller'];

/** A simulated device renews this long before its certificate ends, as posture would flag it. */
const RENEW_WITHIN_MS = 30 * 86_400_000;

interface ProvisionOptions {
  db: Kysely<Schema>;
  keys: KeyRing;
  dataDir: string;
  serverUrl: string;
  caPem: string;
  count: number;
  onProgress?: (done: number, total: number) => void;
  /** Told when a device's certificate could not be renewed (it goes on with the old one). */
  onRenewalFailed?: (deviceId: string, reason: string) => void;
  /** The clock that decides whether a certificate is due for renewal (tests move it on). */
  nowMs?: number;
}

/**
 * Makes (or reuses) N simulated devices: patients and devices are registered like an
 * administrator would, then each device enrols over HTTPS with its one-time token, as a real
 * one does. Credentials are kept under <data-dir>/sim so a restart reuses them; one in its last
 * 30 days is renewed over mutual TLS first, and one already expired enrols afresh.
 */
export async function provisionSimDevices(opts: ProvisionOptions): Promise<SimDevice[]> {
  const devices = new DeviceStore(opts.db);
  const patients = new PatientStore(opts.db, opts.keys);
  const out: SimDevice[] = [];
  for (let i = 0; i < opts.count; i++) {
    const { kind, model } = KINDS[i % KINDS.length]!;
    const patientNo = Math.floor(i / 2);
    const patientId = `sim-patient-${String(patientNo + 1).padStart(3, '0')}`;
    const deviceId = `sim-${kind}-${String(i + 1).padStart(3, '0')}`;
    const dir = join(opts.dataDir, 'sim', deviceId);
    const credsFile = join(dir, 'credentials.json');
    const stored = readStoredCredentials(credsFile);
    if (stored !== undefined) {
      const creds = await keptCurrent(deviceId, stored, devices, opts);
      // Atomically: a renewal has already revoked the old certificate on the server.
      if (creds !== stored) replaceFile(credsFile, JSON.stringify(creds), 0o600);
      out.push({ deviceId, kind, ...creds });
      opts.onProgress?.(i + 1, opts.count);
      continue;
    }
    if (!(await patients.exists(patientId))) {
      const name = `${FIRST_NAMES[patientNo % FIRST_NAMES.length]} ${LAST_NAMES[patientNo % LAST_NAMES.length]}`;
      await patients.add(patientId, {
        name,
        birthDate: `19${40 + (patientNo % 60)}-0${1 + (patientNo % 9)}-1${patientNo % 10}`,
      });
    }
    const existing = await devices.get(deviceId);
    if (!existing) {
      await devices.add({ id: deviceId, model, serial: `SN${(100000 + i).toString()}` });
      // Assigned a day back so backfilled and slightly skewed readings still have their patient.
      await devices.assign(deviceId, patientId, Date.now() - 86_400_000);
    }
    const { token } = await devices.createEnrollmentToken(deviceId, 3600);
    const creds = await enrollDevice({ serverUrl: opts.serverUrl, caPem: opts.caPem, deviceId, token });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    replaceFile(credsFile, JSON.stringify(creds), 0o600);
    out.push({ deviceId, kind, ...creds });
    opts.onProgress?.(i + 1, opts.count);
  }
  return out;
}

/**
 * The credentials kept from an earlier run, or undefined when there are none to use: a file cut
 * short (a crash while it was written, before writes were atomic) is treated as missing and the
 * device enrols again, rather than every later `vigil sim` failing on it.
 */
function readStoredCredentials(file: string): EnrolledCredentials | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const creds = JSON.parse(text) as Record<string, unknown> | null;
    const isWhole = (['keyPem', 'certPem', 'caPem'] as const).every((k) => typeof creds?.[k] === 'string');
    return isWhole ? (creds as unknown as EnrolledCredentials) : undefined;
  } catch {
    return undefined;
  }
}

/** The device's credentials, renewed (or, once expired, enrolled again) when due. */
async function keptCurrent(
  deviceId: string,
  creds: EnrolledCredentials,
  devices: DeviceStore,
  opts: ProvisionOptions,
): Promise<EnrolledCredentials> {
  const cert = certificateInfo(creds.certPem);
  const left = cert.notAfter.getTime() - (opts.nowMs ?? Date.now());
  if (left >= RENEW_WITHIN_MS) return creds;
  try {
    if (left > 0) return await renewDevice({ serverUrl: opts.serverUrl, current: creds });
    // A revoked device stays refused: enrolling it again would undo what an administrator did.
    const revoked = await devices.revokedCertificates();
    if (revoked.some((r) => r.serial === cert.serialHex)) throw new Error('its certificate is revoked');
    // An expired certificate cannot authenticate a renewal: enrol again, as an administrator would.
    const { token } = await devices.createEnrollmentToken(deviceId, 3600);
    return await enrollDevice({ serverUrl: opts.serverUrl, caPem: opts.caPem, deviceId, token });
  } catch (err) {
    opts.onRenewalFailed?.(deviceId, err instanceof Error ? err.message : String(err));
    return creds;
  }
}
