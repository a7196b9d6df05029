/**
 * One thread of the load generator (see generator-threads.ts): it connects its share of the
 * devices and runs the loops it is asked for, handing back the stats with the raw samples.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  type ClientKind,
  connectPublishers,
  type DeviceCredentials,
  negotiatedCipher,
  type RunOptions,
  runClosedLoop,
  runOpenLoop,
} from './load-generator.ts';

export interface ThreadStart {
  url: string;
  client: ClientKind;
  devices: Array<{ id: string; credentials?: DeviceCredentials }>;
}

export type ThreadRequest =
  | { kind: 'closed'; opts: RunOptions & { inFlight: number } }
  | {
      kind: 'open';
      opts: RunOptions & {
        messagesPerSecond: number;
        maxInFlight: number;
        share: { firstIndex: number; fleetSize: number };
      };
    }
  | { kind: 'close' };

const port =
  parentPort ??
  (() => {
    throw new Error('generator-thread.ts runs only as a worker thread');
  })();
const start = workerData as ThreadStart;

const fleet = await connectPublishers({ url: start.url, devices: start.devices, client: start.client });
const acked = () => fleet.publishers.map((p) => [p.id, p.acked] as const);
port.postMessage({
  ready: true,
  connected: fleet.publishers.length,
  cipher: fleet.publishers[0] ? negotiatedCipher(fleet.publishers[0].client) : 'none',
});

port.on('message', (request: ThreadRequest) => {
  void (async () => {
    try {
      if (request.kind === 'close') {
        await fleet.close();
        port.postMessage({ closed: true });
        return;
      }
      const stats =
        request.kind === 'closed'
          ? await runClosedLoop(fleet.publishers, { ...request.opts, keepSamples: true })
          : await runOpenLoop(fleet.publishers, { ...request.opts, keepSamples: true });
      port.postMessage({ stats, acked: acked() });
    } catch (e) {
      port.postMessage({ error: e instanceof Error ? e.message : String(e) });
    }
  })();
});
