/**
 * Reference A: raw MQTT QoS 1 pass-through through Debian's Mosquitto on loopback. The same
 * simulated devices (one mqtt.js client each, same payloads, same in-flight window) publish to
 * a Mosquitto started here with a temp config (no persistence); one QoS 1 subscriber counts
 * deliveries. Pass-through = messages delivered to the subscriber per second in the window.
 * Run once on plain TCP and once with mutual TLS (the fair comparison for Vigil, which only
 * speaks mTLS).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnManaged, tempDir } from './cleanup.ts';
import { deviceIdOf } from './fleet-provisioning.ts';
import { connectThreadedPublishers } from './generator-threads.ts';
import type { ClientKind, RunStats } from './load-generator.ts';
import { freeLoopbackPort, waitForListener } from './loopback.ts';
import type { SubscriberReply, SubscriberRequest, SubscriberSettings } from './mosquitto-subscriber.ts';
import { makeTlsMaterial } from './openssl-certs.ts';
import { type CpuShare, cpuMeter } from './process-usage.ts';
import { REPO_ROOT } from './vigil-child.ts';

export const MOSQUITTO = '/usr/sbin/mosquitto';

export interface MosquittoOptions {
  devices: number;
  readingsPerMessage: number;
  inFlight: number;
  client: ClientKind;
  /** Worker threads the publishers are spread over, as in the end-to-end run. */
  generatorThreads: number;
  warmupSeconds: number;
  seconds: number;
  tls: boolean;
  progress: (line: string) => void;
}

export interface MosquittoResult {
  tls: boolean;
  cipher: string;
  /** Messages per second delivered to the subscriber in the window: the pass-through figure. */
  deliveredPerSecond: number;
  deliveredReadingsPerSecond: number;
  /** The publishers' side: PUBACKs from Mosquitto (it acks on receipt, before delivery). */
  publish: RunStats;
  /** Acknowledged publishes never delivered by the end (queue overflow); 0 is expected. */
  undelivered: number;
  cpu: CpuShare;
}

const SUBSCRIBER_RECEIVE_MAXIMUM = 1000;

interface SubscriberProcess {
  pid: number;
  /** Messages delivered to the subscriber so far. */
  count(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts bench/mosquitto-subscriber.ts in its own process and waits until it has subscribed. */
async function startSubscriber(settings: SubscriberSettings): Promise<SubscriberProcess> {
  const managed = spawnManaged(
    'mosquitto subscriber',
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./mosquitto-subscriber.ts', import.meta.url))],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, VIGIL_BENCH_SUBSCRIBER: JSON.stringify(settings) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const waiting: Array<(n: number) => void> = [];
  const ready = new Promise<void>((resolve, reject) => {
    managed.child.on('message', (m: SubscriberReply) => {
      if (m.kind === 'ready') resolve();
      else if (m.kind === 'count') waiting.shift()?.(m.delivered);
      else reject(new Error(`subscriber: ${m.message}`));
    });
    void managed.exited.then((code) => reject(new Error(`subscriber exited with ${code}`)));
  });
  const timeout = setTimeout(() => void managed.stop(1000), 20_000);
  try {
    await ready;
  } catch (e) {
    await managed.stop(1000);
    throw e;
  } finally {
    clearTimeout(timeout);
  }
  return {
    pid: managed.pid,
    count: () =>
      new Promise<number>((resolve) => {
        waiting.push(resolve);
        managed.child.send({ cmd: 'count' } satisfies SubscriberRequest);
      }),
    stop: async () => {
      if (managed.child.connected) {
        managed.child.send({ cmd: 'stop' } satisfies SubscriberRequest);
        await Promise.race([managed.exited, new Promise((r) => setTimeout(r, 2000))]);
      }
      await managed.stop(1000);
    },
  };
}

export async function runMosquittoReference(opts: MosquittoOptions): Promise<MosquittoResult> {
  if (!existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} is missing; install Debian's mosquitto package`);
  const dir = tempDir('vigil-bench-mosquitto-');
  try {
    const tls = opts.tls ? makeTlsMaterial(dir.path) : undefined;
    const port = await freeLoopbackPort();
    const conf = [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      // Stay the invoking user (as root, Mosquitto would otherwise switch to "mosquitto").
      `user ${userInfo().username}`,
      // The subscriber gets many QoS 1 messages in flight, and a bounded queue behind them.
      'max_inflight_messages 1000',
      'max_queued_messages 1000000',
      'log_dest stderr',
      'log_type error',
      ...(tls
        ? [
            `cafile ${tls.caFile}`,
            `certfile ${tls.serverCertFile}`,
            `keyfile ${tls.serverKeyFile}`,
            'require_certificate true',
          ]
        : []),
    ];
    const confFile = join(dir.path, 'mosquitto.conf');
    writeFileSync(confFile, `${conf.join('\n')}\n`);
    const broker = spawnManaged('mosquitto', MOSQUITTO, ['-c', confFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let brokerLog = '';
    broker.child.stderr?.on('data', (d: Buffer) => {
      brokerLog = `${brokerLog}${d.toString('utf8')}`.slice(-2000);
    });
    try {
      await waitForListener(port, { name: 'mosquitto', timeoutMs: 5000 });
      const url = `${tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`;
      const credentials = tls?.client;

      const subscriber = await startSubscriber({
        url,
        topic: 'v1/devices/+/telemetry',
        credentials,
        receiveMaximum: SUBSCRIBER_RECEIVE_MAXIMUM,
      });
      try {
        const devices = Array.from({ length: opts.devices }, (_, i) => ({
          id: deviceIdOf(i),
          ...(credentials ? { credentials } : {}),
        }));
        const fleet = await connectThreadedPublishers({
          url,
          devices,
          threads: opts.generatorThreads,
          client: opts.client,
        });
        try {
          const cipher = fleet.cipher;
          opts.progress(
            `${fleet.connected} publishers connected (${cipher}) from ${opts.generatorThreads} generator threads, 1 subscriber in its own process; closed loop, ${opts.inFlight} in flight per device`,
          );
          let stopCpu: (() => CpuShare) | undefined;
          let cpu: CpuShare | undefined;
          let atStart: Promise<number> = Promise.resolve(0);
          let atEnd: Promise<number> = Promise.resolve(0);
          let windowStart = 0;
          let windowEnd = 0;
          const publish = await fleet.runClosedLoop({
            inFlight: opts.inFlight,
            readingsPerMessage: opts.readingsPerMessage,
            warmupMs: opts.warmupSeconds * 1000,
            measureMs: opts.seconds * 1000,
            onWindowStart: () => {
              windowStart = performance.now();
              atStart = subscriber.count();
              stopCpu = cpuMeter(broker.pid, subscriber.pid);
            },
            onWindowEnd: () => {
              windowEnd = performance.now();
              atEnd = subscriber.count();
              cpu = stopCpu?.();
            },
          });
          const deliveredInWindow = (await atEnd) - (await atStart);
          // Let the subscriber catch up on what was acknowledged (bounded).
          let deliveredTotal = await subscriber.count();
          const deadline = performance.now() + 15_000;
          while (deliveredTotal < publish.acked && performance.now() < deadline) {
            await new Promise((r) => setTimeout(r, 50));
            deliveredTotal = await subscriber.count();
          }
          if (!cpu) throw new Error('the measuring window never closed');
          const deliveredPerSecond = deliveredInWindow / ((windowEnd - windowStart) / 1000);
          return {
            tls: opts.tls,
            cipher,
            deliveredPerSecond,
            deliveredReadingsPerSecond: deliveredPerSecond * opts.readingsPerMessage,
            publish,
            undelivered: Math.max(0, publish.acked - deliveredTotal),
            cpu,
          };
        } finally {
          await fleet.close();
        }
      } finally {
        await subscriber.stop();
      }
    } catch (e) {
      throw new Error(`${(e as Error).message}${brokerLog ? ` (mosquitto said: ${brokerLog.trim()})` : ''}`);
    } finally {
      await broker.stop(3000);
    }
  } finally {
    await dir.remove();
  }
}
