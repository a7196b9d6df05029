/**
 * Prepares a data dir the way an operator and a fleet would: `vigil init` (in-process
 * initDataDir), then, against a temporary in-process Vigil, one patient per device, each
 * device registered, assigned and enrolled over HTTPS with its one-time token (the same code
 * path as `vigil device enroll`). The in-process Vigil is stopped before the benchmark starts
 * the real server in a child process.
 */
import pino from 'pino';
import { loadConfig } from '../src/config/config.ts';
import { enrollDevice } from '../src/devices/enroll-client.ts';
import { initDataDir } from '../src/server/provision.ts';
import { startVigil } from '../src/server/vigil.ts';
import type { DeviceCredentials } from './load-generator.ts';

export interface FleetDevice {
  id: string;
  patientId: string;
  credentials: DeviceCredentials;
}

export interface ProvisionedFleet {
  dataDir: string;
  /** Admin token from init: reads /metrics. */
  adminToken: string;
  devices: FleetDevice[];
}

const ENROLL_CONCURRENCY = 8;

export const deviceIdOf = (i: number) => `bench-ox-${String(i + 1).padStart(4, '0')}`;
export const patientIdOf = (i: number) => `bench-patient-${String(i + 1).padStart(4, '0')}`;

/** Config for an in-process Vigil on `dataDir`: free ports, no log output. */
export function benchConfig(dataDir: string) {
  return loadConfig({
    env: { VIGIL_DATA_DIR: dataDir, VIGIL_HTTP_PORT: '0', VIGIL_MQTT_PORT: '0', VIGIL_LOG_LEVEL: 'silent' },
  });
}

export async function provisionFleet(
  dataDir: string,
  count: number,
  onProgress?: (done: number, total: number) => void,
): Promise<ProvisionedFleet> {
  const config = benchConfig(dataDir);
  const { adminToken } = await initDataDir(config);
  const vigil = await startVigil(config, { log: pino({ level: 'silent' }) });
  try {
    const serverUrl = `https://127.0.0.1:${vigil.httpPort}`;
    const assignedFromMs = Date.now() - 3_600_000;
    const devices: FleetDevice[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(ENROLL_CONCURRENCY, count) }, async () => {
        for (let i = next++; i < count; i = next++) {
          const id = deviceIdOf(i);
          const patientId = patientIdOf(i);
          await vigil.patients.add(patientId, { name: `Bench Patient ${i + 1}` });
          await vigil.devices.add({ id, model: 'BenchOx 10', serial: `BX${100000 + i}` });
          await vigil.devices.assign(id, patientId, assignedFromMs);
          const { token } = await vigil.devices.createEnrollmentToken(id, 600);
          const credentials = await enrollDevice({ serverUrl, caPem: vigil.caPem, deviceId: id, token });
          devices.push({ id, patientId, credentials });
          onProgress?.(devices.length, count);
        }
      }),
    );
    devices.sort((a, b) => a.id.localeCompare(b.id));
    return { dataDir, adminToken, devices };
  } finally {
    await vigil.stop();
  }
}
