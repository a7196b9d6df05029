/** What `vigil token`, `vigil patient` and `vigil device` do, once admin-commands.ts has parsed their flags. */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiTokens, parseTtl } from '../access/api-tokens.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { PatientStore } from '../clinical/patients.store.ts';
import { issueDeviceCrl, loadDeviceCa } from '../devices/device-ca.ts';
import { DeviceStore } from '../devices/devices.store.ts';
import { deviceIdOf, type EnrolledCredentials, enrollDevice, renewDevice } from '../devices/enroll-client.ts';
import { VigilError } from '../errors/catalogue.ts';
import { crlToPem } from '../pki/index.ts';
import { replaceFile, requireFolderOf } from '../store/replace-file.ts';
import { type CommonFlags, cliActor, configFrom, serverUrl } from './context.ts';
import { openLocal } from './open-local.ts';
import { emit } from './output.ts';

export type TokenCreateFlags = CommonFlags & { role: string; name: string; ttl: string };
export type PatientAddFlags = CommonFlags & { id: string; name: string; birthDate?: string };
export type PatientEraseFlags = CommonFlags & { id: string; reason: string };
export type DeviceAddFlags = CommonFlags & { id: string; model: string; serial: string; patient?: string };
export type DeviceAssignFlags = CommonFlags & { id: string; patient: string };
export type DeviceTokenFlags = CommonFlags & { id: string };
export type DeviceRenewFlags = CommonFlags & { dir: string; server?: string };
export type DeviceCrlFlags = CommonFlags & { out: string; der?: boolean };
export type DeviceEnrollFlags = CommonFlags & {
  id: string;
  token: string;
  out: string;
  server?: string;
  ca?: string;
};

/** A 429 with Retry-After is waited out by the enrol client; the operator sees why it waits. */
const tellPaused = (seconds: number) =>
  process.stderr.write(`vigil: the server paused enrolment for now (429); trying again in ${seconds} s\n`);

export async function tokenCreate(o: TokenCreateFlags): Promise<void> {
  const ttlSeconds = parseTtl(o.ttl);
  const { store } = await openLocal(o);
  try {
    const t = await new ApiTokens(store.db).createUnique({ role: o.role, name: o.name, ttlSeconds });
    await new AuditLog(store.db).append({
      actor: cliActor(),
      action: 'token.create',
      resource: `ApiToken/${t.id}`,
      outcome: 'success',
    });
    emit(
      o,
      { token: t.token, id: t.id, role: o.role, expires: new Date(t.expiresAt).toISOString() },
      [`token ${t.id} for ${o.name} (${o.role}), expires ${new Date(t.expiresAt).toISOString()}`],
      t.token,
    );
  } finally {
    await store.close();
  }
}

export async function patientAdd(o: PatientAddFlags): Promise<void> {
  const { store, keys } = await openLocal(o);
  try {
    await new PatientStore(store.db, keys).add(o.id, {
      name: o.name,
      ...(o.birthDate ? { birthDate: o.birthDate } : {}),
    });
    await new AuditLog(store.db).append({
      actor: cliActor(),
      action: 'patient.create',
      patientId: o.id,
      resource: `Patient/${o.id}`,
      outcome: 'success',
    });
    emit(o, { id: o.id }, [`patient ${o.id} registered`], o.id);
  } finally {
    await store.close();
  }
}

export async function patientErase(o: PatientEraseFlags): Promise<void> {
  if (o.reason.trim().length < 10) {
    throw new VigilError('VIGIL_ERR_REQUEST_INVALID', '--reason must say why in at least 10 characters');
  }
  const { store, keys } = await openLocal(o);
  try {
    if (!(await new PatientStore(store.db, keys).erase(o.id))) {
      throw new VigilError(
        'VIGIL_ERR_PATIENT_UNKNOWN',
        `no patient ${o.id} to erase (unknown, or erased before)`,
      );
    }
    await new AuditLog(store.db).append({
      actor: cliActor(),
      action: 'patient.erase',
      patientId: o.id,
      resource: `Patient/${o.id}`,
      purpose: o.reason,
      outcome: 'success',
    });
    emit(o, { id: o.id, erased: true }, [`patient ${o.id} erased: data key destroyed`], o.id);
  } finally {
    await store.close();
  }
}

export async function deviceAdd(o: DeviceAddFlags): Promise<void> {
  const { store, config } = await openLocal(o);
  try {
    // Checked before the device row is written: a refused assignment after it would leave a
    // device registered with no token printed and no audit entry, and a retry refused.
    const devices = new DeviceStore(store.db);
    if (o.patient !== undefined) await devices.requirePatient(o.patient);
    await devices.add({ id: o.id, model: o.model, serial: o.serial });
    if (o.patient) await devices.assign(o.id, o.patient);
    const t = await devices.createEnrollmentToken(o.id, config.enrollmentTokenTtlSeconds);
    await new AuditLog(store.db).append({
      actor: cliActor(),
      action: 'device.create',
      resource: `Device/${o.id}`,
      patientId: o.patient,
      outcome: 'success',
    });
    emit(
      o,
      { id: o.id, token: t.token, expires: new Date(t.expiresAt).toISOString() },
      [
        `device ${o.id} registered${o.patient ? `, assigned to ${o.patient}` : ''}`,
        `enrol it within ${config.enrollmentTokenTtlSeconds / 3600} h: vigil device enroll --id ${o.id} --token <token> --out <dir>`,
      ],
      t.token,
    );
  } finally {
    await store.close();
  }
}

export async function deviceAssign(o: DeviceAssignFlags): Promise<void> {
  const { store } = await openLocal(o);
  try {
    await new DeviceStore(store.db).assign(o.id, o.patient);
    await new AuditLog(store.db).append({
      actor: cliActor(),
      action: 'device.assign',
      resource: `Device/${o.id}`,
      patientId: o.patient,
      outcome: 'success',
    });
    emit(o, { id: o.id, patient: o.patient }, [`device ${o.id} now measures patient ${o.patient}`]);
  } finally {
    await store.close();
  }
}

export async function deviceToken(o: DeviceTokenFlags): Promise<void> {
  const { store, config } = await openLocal(o);
  try {
    const t = await new DeviceStore(store.db).createEnrollmentToken(o.id, config.enrollmentTokenTtlSeconds);
    // As the API's POST /devices/:id/enrollment-token does: a token can re-enrol the device.
    await new AuditLog(store.db).append({
      actor: cliActor(),
      action: 'device.enrollment-token',
      resource: `Device/${o.id}`,
      outcome: 'success',
    });
    emit(o, { id: o.id, token: t.token, expires: new Date(t.expiresAt).toISOString() }, [], t.token);
  } finally {
    await store.close();
  }
}

export async function deviceRenew(o: DeviceRenewFlags): Promise<void> {
  const config = configFrom(o);
  const files = { keyPem: 'device.key', certPem: 'device.crt', caPem: 'ca.crt' } as const;
  const current = Object.fromEntries(
    Object.entries(files).map(([k, name]) => {
      const path = join(o.dir, name);
      if (!existsSync(path))
        throw new VigilError(
          'VIGIL_ERR_CONFIG_INVALID',
          `${path} not found; --dir must be where "vigil device enroll --out" wrote the credentials`,
        );
      return [k, readFileSync(path, 'utf8')];
    }),
  ) as unknown as EnrolledCredentials;
  const renewed = await renewDevice({
    serverUrl: o.server ?? serverUrl(config),
    current,
    onPause: tellPaused,
  });
  // The old certificate is already revoked: replace both files, the key first.
  for (const [k, name] of [
    ['keyPem', files.keyPem],
    ['certPem', files.certPem],
  ] as const) {
    replaceFile(join(o.dir, name), renewed[k], k === 'keyPem' ? 0o600 : 0o644);
  }
  const id = deviceIdOf(renewed.certPem);
  emit(o, { id, dir: o.dir }, [`device ${id} renewed; new key and certificate in ${o.dir}`], o.dir);
}

export async function deviceCrl(o: DeviceCrlFlags): Promise<void> {
  requireFolderOf(o.out);
  const { store, keys } = await openLocal(o);
  try {
    const crl = await issueDeviceCrl(store.db, await loadDeviceCa(store.db, keys), Date.now());
    replaceFile(o.out, o.der ? crl.der : crlToPem(crl.der), 0o644);
    const nextUpdate = new Date(crl.nextUpdateMs).toISOString();
    emit(o, { out: o.out, revoked: crl.entries, nextUpdate }, [
      `revocation list with ${crl.entries} certificate(s) written to ${o.out}; valid until ${nextUpdate}`,
    ]);
  } finally {
    await store.close();
  }
}

export async function deviceEnroll(o: DeviceEnrollFlags): Promise<void> {
  const config = configFrom(o);
  const caFile = o.ca ?? join(config.dataDir, 'ca.crt');
  if (!existsSync(caFile)) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `CA file ${caFile} not found; pass --ca with Vigil's ca.crt so the server can be verified`,
    );
  }
  const creds = await enrollDevice({
    serverUrl: o.server ?? serverUrl(config),
    caPem: readFileSync(caFile, 'utf8'),
    deviceId: o.id,
    token: o.token,
    onPause: tellPaused,
  });
  mkdirSync(o.out, { recursive: true, mode: 0o700 });
  // replaceFile, as renew does: writeFileSync's mode applies only to a new file, so a
  // device.key already there (0644) would keep its mode with the new private key in it.
  replaceFile(join(o.out, 'device.key'), creds.keyPem, 0o600);
  replaceFile(join(o.out, 'device.crt'), creds.certPem, 0o644);
  replaceFile(join(o.out, 'ca.crt'), creds.caPem, 0o644);
  emit(o, { id: o.id, out: o.out }, [`device ${o.id} enrolled; credentials in ${o.out}`], o.out);
}
