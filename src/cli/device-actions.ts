/**
 * What `vigil device list / revoke / quarantine / release` do: the operator's console in an
 * incident, when no API token works. Each does what its HTTP route does in the store, through
 * the same domain code (devices/device-admin.ts, devices/devices.store.ts); a running server
 * notices the change by its poll of the store (server/vigil.ts) and cuts the device off.
 */
import { AuditLog } from '../audit/audit-log.ts';
import { PatientStore } from '../clinical/patients.store.ts';
import type { VigilConfig } from '../config/config.ts';
import type { KeyRing } from '../crypto/key-ring.ts';
import { DeviceAdmin, type Who } from '../devices/device-admin.ts';
import { type DeviceRow, DeviceStore } from '../devices/devices.store.ts';
import { toDeviceView } from '../devices/routes.ts';
import { isVigilError, VigilError } from '../errors/catalogue.ts';
import type { Store } from '../store/database.ts';
import { type CommonFlags, cliActor } from './context.ts';
import { openLocal } from './open-local.ts';
import { emit, minuteUtc, table } from './output.ts';

export type DeviceIdFlags = CommonFlags & { id: string };
export type DeviceReasonFlags = DeviceIdFlags & { reason: string };

const who = (): Who => ({ actor: cliActor(), source: 'cli' });

/** What the operator is told about a change a running server must pick up. */
const SERVER_PICKS_UP =
  'a running Vigil server notices within about a second: it disconnects the device and refuses it from then on';
const relayNote = (what: string) =>
  `${what} written by the server's relay from this change: within about a second if a server runs, otherwise at its next start`;

interface Local {
  config: VigilConfig;
  store: Store;
  keys: KeyRing;
  devices: DeviceStore;
}

/**
 * Opens the data dir, runs one command against its devices, and always closes the store. A
 * device the store does not know is named with where to find the ids.
 */
async function withDevices<T>(
  flags: CommonFlags & { id?: string },
  job: (l: Local) => Promise<T>,
): Promise<T> {
  const { config, store, keys } = await openLocal(flags);
  try {
    return await job({ config, store, keys, devices: new DeviceStore(store.db) });
  } catch (e) {
    if (isVigilError(e) && e.code === 'VIGIL_ERR_DEVICE_UNKNOWN' && flags.id !== undefined)
      throw unknownDevice(flags.id);
    throw e;
  } finally {
    await store.close();
  }
}

const unknownDevice = (id: string) =>
  new VigilError('VIGIL_ERR_DEVICE_UNKNOWN', `no device ${id}; "vigil device list" shows the ids`);

async function existing(devices: DeviceStore, id: string): Promise<DeviceRow> {
  const row = await devices.get(id);
  if (!row) throw unknownDevice(id);
  return row;
}

export async function deviceList(o: CommonFlags): Promise<void> {
  await withDevices(o, async ({ devices }) => {
    const rows = await devices.list();
    // The API's view (GET /api/v1/devices), with the two instants the table shows as well.
    const views = rows.map((d) => ({
      ...toDeviceView(d),
      registeredAt: new Date(d.createdAt).toISOString(),
      enrolledAt: d.enrolledAt === null ? null : new Date(d.enrolledAt).toISOString(),
    }));
    const isAnyQuarantined = rows.some((d) => d.quarantineReason !== null);
    const header = ['ID', 'MODEL', 'SERIAL', 'STATUS', 'ENROLLED', 'LAST SEEN', 'PATIENT'];
    emit(
      o,
      { devices: views },
      rows.length === 0
        ? ['no devices; register one with "vigil device add"']
        : table(
            isAnyQuarantined ? [...header, 'QUARANTINE REASON'] : header,
            rows.map((d) => [
              d.id,
              d.model,
              d.serial,
              d.status,
              minuteUtc(d.enrolledAt, 'no'),
              minuteUtc(d.lastSeenMs, 'never'),
              d.patientId ?? '-',
              d.quarantineReason ?? '',
            ]),
          ),
    );
  });
}

/** As POST /api/v1/devices/{id}/revoke: every valid certificate revoked, unused tokens spent, audited. */
export async function deviceRevoke(o: DeviceReasonFlags): Promise<void> {
  await withDevices(o, async ({ config, store, keys, devices }) => {
    const admin = new DeviceAdmin({
      devices,
      audit: new AuditLog(store.db),
      enrollmentTokenTtlSeconds: config.enrollmentTokenTtlSeconds,
      patientExists: (id) => new PatientStore(store.db, keys).exists(id),
      // This process holds neither the ingest path's directory nor a connection: a running
      // server's poll of the store reloads its directory and closes the device's connection.
      refresh: async () => {},
      disconnect: () => {},
      isConnected: () => false,
    });
    const { revoked } = await admin.revoke(o.id, o.reason, who());
    emit(o, { id: o.id, revokedCertificates: revoked }, [
      revoked === 0
        ? `device ${o.id} had no valid certificate; none revoked, unused enrollment tokens spent`
        : `device ${o.id}: ${revoked} certificate(s) revoked, unused enrollment tokens spent`,
      `${SERVER_PICKS_UP} until it enrols again with a new token ("vigil device token --id ${o.id}")`,
    ]);
  });
}

/**
 * As POST /api/v1/devices/{id}/quarantine, in the store: the status and its device_events row
 * commit together (DeviceStore.quarantine). The audit entry, the security event and the
 * webhooks follow from that row in the server's relay (notify/device-events-outbox.ts); written
 * here as well, they would be doubled.
 */
export async function deviceQuarantine(o: DeviceReasonFlags): Promise<void> {
  await withDevices(o, async ({ devices }) => {
    const before = await existing(devices, o.id);
    await devices.quarantine(o.id, o.reason, cliActor());
    emit(o, { id: o.id, status: 'quarantined', reason: o.reason }, [
      before.status === 'quarantined'
        ? `device ${o.id} was quarantined already; the new reason is recorded as another step: ${o.reason}`
        : `device ${o.id} quarantined: ${o.reason}`,
      SERVER_PICKS_UP,
      relayNote('the audit entry, the security event and the webhooks are'),
    ]);
  });
}

/**
 * As DELETE /api/v1/devices/{id}/quarantine: a device that is not quarantined is left as it is,
 * and the command succeeds, as the route answers 200; nothing is recorded for it.
 */
export async function deviceRelease(o: DeviceIdFlags): Promise<void> {
  await withDevices(o, async ({ devices }) => {
    if (!(await devices.release(o.id, cliActor()))) {
      const { status } = await existing(devices, o.id);
      emit(o, { id: o.id, status, released: false }, [
        `device ${o.id} is not quarantined (status: ${status}); nothing to release, nothing recorded`,
      ]);
      return;
    }
    emit(o, { id: o.id, status: 'active', released: true }, [
      `device ${o.id} released from quarantine`,
      'a running Vigil server lets it connect again within about a second',
      relayNote('the audit entry and the webhooks are'),
    ]);
  });
}
