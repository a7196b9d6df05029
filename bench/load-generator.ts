/**
 * The simulated devices: one MQTT client per device (as devices really are; lean-client.ts by
 * default, mqtt.js on request), publishing QoS 1 telemetry. Two loops share the bookkeeping:
 *
 * - closed loop: each device keeps a fixed number of messages in flight and publishes the next
 *   one when a PUBACK frees a slot (finds the peak: the server sets the pace);
 * - open loop: each device publishes at a fixed interval whatever the acknowledgements do (a
 *   fixed offered load, for latency at a given rate).
 *
 * Throughput counts PUBACKs that arrive inside the measuring window (after a warm-up); latency
 * is publish() call to PUBACK. Every loop is bounded in time, and a drain waits (bounded) for
 * the messages still in flight when publishing stops.
 */
import type { TLSSocket } from 'node:tls';
import mqtt, { type IClientOptions, type MqttClient, type Packet } from 'mqtt';
import { onCleanup } from './cleanup.ts';
import { isoTime } from './iso-time.ts';
import { LatencyRecorder, type LatencySummary } from './latency.ts';
import { type BenchClient, connectLeanClient, notLoopback } from './lean-client.ts';

export interface DeviceCredentials {
  keyPem: string;
  certPem: string;
  caPem: string;
}

/** Which MQTT client the simulated devices publish with (see lean-client.ts). */
export type ClientKind = 'lean' | 'mqtt.js';
export const CLIENT_KINDS: readonly ClientKind[] = ['lean', 'mqtt.js'];

export interface Publisher {
  readonly id: string;
  readonly topic: string;
  readonly client: BenchClient;
  seq: number;
  inFlight: number;
  /** Messages this device got a success PUBACK for, over every run. */
  acked: number;
}

export interface ConnectOptions {
  /** mqtt://127.0.0.1:port or mqtts://127.0.0.1:port (loopback only). */
  url: string;
  devices: ReadonlyArray<{ id: string; credentials?: DeviceCredentials }>;
  /** Handshakes started at once. */
  concurrency?: number;
  topicOf?: (deviceId: string) => string;
  /** Default lean. */
  client?: ClientKind;
}

const CONNECT_TIMEOUT_MS = 15_000;
const DRAIN_TIMEOUT_MS = 15_000;

export const telemetryTopic = (deviceId: string) => `v1/devices/${deviceId}/telemetry`;

function clientOptions(id: string, credentials: DeviceCredentials | undefined): IClientOptions {
  return {
    protocolVersion: 5,
    clientId: id,
    clean: true,
    keepalive: 60,
    reconnectPeriod: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    ...(credentials
      ? {
          key: credentials.keyPem,
          cert: credentials.certPem,
          ca: credentials.caPem,
          rejectUnauthorized: true,
        }
      : {}),
  };
}

/** Connects one client and resolves on CONNACK; refuses anything but a loopback URL. */
export function connectClient(
  url: string,
  id: string,
  credentials?: DeviceCredentials,
  extra: Partial<IClientOptions> = {},
): Promise<MqttClient> {
  const refused = notLoopback(url);
  if (refused) return Promise.reject(refused);
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { ...clientOptions(id, credentials), ...extra });
    const fail = (e: Error) => {
      client.end(true);
      reject(new Error(`${id} could not connect to ${url}: ${e.message}`));
    };
    client.once('connect', () => {
      client.off('error', fail);
      client.off('close', onClose);
      // Counted later by the run; an error listener must stay so mqtt.js never throws.
      client.on('error', () => {});
      resolve(client);
    });
    const onClose = () => fail(new Error('connection closed before CONNACK'));
    client.once('error', fail);
    client.once('close', onClose);
  });
}

export interface ConnectedFleet {
  publishers: Publisher[];
  /** Disconnects every client (also done by cleanup if the run fails). */
  close(): Promise<void>;
}

/** Connects every device (a few handshakes at a time); cleanup ends the clients. */
export async function connectPublishers(
  opts: ConnectOptions,
  onProgress?: (done: number, total: number) => void,
): Promise<ConnectedFleet> {
  const topicOf = opts.topicOf ?? telemetryTopic;
  const publishers: Publisher[] = [];
  const close = onCleanup('close MQTT publishers', () => closeClients(publishers.map((p) => p.client)));
  const queue = [...opts.devices];
  const concurrency = Math.max(1, opts.concurrency ?? 16);
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
        for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
          const client =
            opts.client === 'mqtt.js'
              ? await connectClient(opts.url, d.id, d.credentials)
              : await connectLeanClient(opts.url, d.id, d.credentials);
          publishers.push({ id: d.id, topic: topicOf(d.id), client, seq: 0, inFlight: 0, acked: 0 });
          onProgress?.(publishers.length, opts.devices.length);
        }
      }),
    );
  } catch (e) {
    await close();
    throw e;
  }
  return { publishers, close };
}

/** Ends clients politely (DISCONNECT), bounded in time. */
export async function closeClients(clients: BenchClient[]): Promise<void> {
  await Promise.all(
    clients.map(
      (c) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            c.end(true);
            resolve();
          }, 2000);
          c.end(false, {}, () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    ),
  );
}

/** The TLS version and cipher a client negotiated, e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384"; "plain" without TLS. */
export function negotiatedCipher(client: BenchClient): string {
  const stream = client.stream as unknown as Partial<TLSSocket>;
  if (typeof stream.getCipher !== 'function') return 'plain TCP';
  const c = stream.getCipher();
  return `${c.version} ${c.standardName ?? c.name}`;
}

/**
 * A pulse oximeter batching HR and SpO2 at 1 Hz: readings come in pairs one second apart, the
 * last at `nowMs`; an odd count ends with a heart rate. Real-time stamps keep the server on its
 * ordinary path (no backfill, no idle sealing). Heart rate drifts between 72 and 84 /min, a
 * beat at a time: an earlier sawtooth jumped 39 /min within a second, so nearly every message
 * was flagged as an implausible jump and the run measured a flood of data-quality security
 * events (a log line each, batched database writes) rather than the ordinary ingest path.
 */
export function telemetryPayload(seq: number, readings: number, nowMs: number): string {
  const pairs = Math.ceil(readings / 2);
  const parts: string[] = [];
  for (let i = 0; i < readings; i++) {
    const pair = i >> 1;
    const ts = isoTime(nowMs - (pairs - 1 - pair) * 1000);
    const phase = (seq + pair) % 24;
    parts.push(
      i % 2 === 0
        ? `{"code":"8867-4","value":${72 + (phase < 12 ? phase : 24 - phase)},"unit":"/min","ts":"${ts}"}`
        : `{"code":"59408-5","value":${94 + ((seq + pair) % 6)},"unit":"%","ts":"${ts}"}`,
    );
  }
  return `{"seq":${seq},"ts":"${isoTime(nowMs)}","readings":[${parts.join(',')}]}`;
}

export interface RunOptions {
  readingsPerMessage: number;
  warmupMs: number;
  measureMs: number;
  /** Called at the exact start and end of the measuring window (CPU meters, metric scrapes). */
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
  /** Return the raw latency samples too (a generator thread hands them to the merge). */
  keepSamples?: boolean;
}

export interface RunStats {
  windowSeconds: number;
  /** Publishes made during the whole run (warm-up, window, tail). */
  sent: number;
  /** Successful PUBACKs in the whole run. */
  acked: number;
  /** PUBACKs with a reason code >= 0x80, by code, in the whole run. */
  refused: Record<string, number>;
  /** Publishes that failed without a reason code (connection lost). */
  errors: number;
  ackedInWindow: number;
  messagesPerSecond: number;
  /** publish() call to PUBACK, for messages acknowledged inside the window. */
  latency: LatencySummary;
  /** Messages still unacknowledged when the drain gave up (0 when all came back). */
  unsettled: number;
  /** Open loop: how late the generator's timers fired (its own lag), over the window. */
  schedulerLagMs?: LatencySummary;
  /** Open loop: sends skipped because a device already had maxInFlight outstanding. */
  skipped?: number;
  /** The raw samples behind latency and schedulerLagMs, when asked for (keepSamples). */
  samples?: { latency: Float64Array; schedulerLag?: Float64Array };
}

class RunBook {
  sent = 0;
  acked = 0;
  errors = 0;
  ackedInWindow = 0;
  refused: Record<string, number> = {};
  windowStart = Number.POSITIVE_INFINITY;
  windowEnd = Number.POSITIVE_INFINITY;
  readonly latency = new LatencyRecorder();
  publishing = true;

  constructor(
    readonly publishers: Publisher[],
    readonly keepSamples = false,
  ) {}

  inWindow(t: number): boolean {
    return t >= this.windowStart && t < this.windowEnd;
  }

  get inFlight(): number {
    let n = 0;
    for (const p of this.publishers) n += p.inFlight;
    return n;
  }

  /** Publishes one message; `then` runs after its PUBACK (or failure), with true on success. */
  publish(p: Publisher, readings: number, then: (ok: boolean) => void): void {
    p.seq += 1;
    p.inFlight += 1;
    this.sent += 1;
    const payload = telemetryPayload(p.seq, readings, Date.now());
    const started = performance.now();
    p.client.publish(p.topic, payload, { qos: 1 }, (err, packet) => {
      p.inFlight -= 1;
      const now = performance.now();
      const reason = reasonCodeOf(err, packet);
      if (reason === undefined) {
        this.errors += 1;
        then(false);
        return;
      }
      if (reason >= 0x80) {
        const key = `0x${reason.toString(16)}${err?.message ? ` ${err.message.slice(0, 60)}` : ''}`;
        this.refused[key] = (this.refused[key] ?? 0) + 1;
        then(true);
        return;
      }
      this.acked += 1;
      p.acked += 1;
      if (this.inWindow(now)) {
        this.ackedInWindow += 1;
        this.latency.record(now - started);
      }
      then(true);
    });
  }

  async window(opts: RunOptions): Promise<void> {
    await sleep(opts.warmupMs);
    this.windowStart = performance.now();
    opts.onWindowStart?.();
    await sleep(opts.measureMs);
    this.windowEnd = performance.now();
    opts.onWindowEnd?.();
    this.publishing = false;
  }

  async drain(): Promise<number> {
    const deadline = performance.now() + DRAIN_TIMEOUT_MS;
    while (this.inFlight > 0 && performance.now() < deadline) await sleep(10);
    return this.inFlight;
  }

  stats(unsettled: number): RunStats {
    const windowSeconds = (this.windowEnd - this.windowStart) / 1000;
    return {
      windowSeconds,
      sent: this.sent,
      acked: this.acked,
      refused: this.refused,
      errors: this.errors,
      ackedInWindow: this.ackedInWindow,
      messagesPerSecond: this.ackedInWindow / windowSeconds,
      latency: this.latency.summary(),
      unsettled,
      ...(this.keepSamples ? { samples: { latency: this.latency.keptSamples() } } : {}),
    };
  }
}

function reasonCodeOf(err: Error | undefined, packet: Packet | undefined): number | undefined {
  const fromPacket = (packet as { reasonCode?: unknown } | undefined)?.reasonCode;
  if (typeof fromPacket === 'number') return fromPacket;
  const fromError = (err as { code?: unknown } | undefined)?.code;
  if (typeof fromError === 'number') return fromError;
  return err ? undefined : 0;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Each device keeps `inFlight` messages outstanding until the window closes. */
export async function runClosedLoop(
  publishers: Publisher[],
  opts: RunOptions & { inFlight: number },
): Promise<RunStats> {
  const book = new RunBook(publishers, opts.keepSamples);
  const next = (p: Publisher) => {
    if (!book.publishing || !p.client.connected) return;
    book.publish(p, opts.readingsPerMessage, (ok) => {
      // A lost connection stops that device; a refusal does not.
      if (ok) next(p);
    });
  };
  for (const p of publishers) for (let i = 0; i < opts.inFlight; i++) next(p);
  await book.window(opts);
  return book.stats(await book.drain());
}

/**
 * Offers `messagesPerSecond` in total, spread evenly: each device publishes every
 * devices / rate seconds, the devices' phases staggered across one interval.
 */
export async function runOpenLoop(
  publishers: Publisher[],
  opts: RunOptions & {
    messagesPerSecond: number;
    maxInFlight: number;
    /** With the fleet split across threads: this share's first index and the whole fleet's size. */
    share?: { firstIndex: number; fleetSize: number };
  },
): Promise<RunStats> {
  const book = new RunBook(publishers, opts.keepSamples);
  const lag = new LatencyRecorder(200_000);
  let skipped = 0;
  const fleetSize = opts.share?.fleetSize ?? publishers.length;
  const firstIndex = opts.share?.firstIndex ?? 0;
  // messagesPerSecond is what this share offers; every device keeps the whole fleet's interval.
  const intervalMs = (1000 * publishers.length) / opts.messagesPerSecond;
  const start = performance.now() + 20;
  const timers = new Set<NodeJS.Timeout>();
  publishers.forEach((p, index) => {
    let k = 0;
    const phase = (intervalMs * (firstIndex + index)) / fleetSize;
    const schedule = () => {
      if (!book.publishing) return;
      const due = start + phase + k * intervalMs;
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          if (!book.publishing) return;
          const now = performance.now();
          if (book.inWindow(now)) lag.record(now - due);
          k += 1;
          if (!p.client.connected) return;
          if (p.inFlight >= opts.maxInFlight) skipped += 1;
          else book.publish(p, opts.readingsPerMessage, () => {});
          schedule();
        },
        Math.max(0, due - performance.now()),
      );
      timers.add(timer);
    };
    schedule();
  });
  await book.window(opts);
  for (const t of timers) clearTimeout(t);
  const unsettled = await book.drain();
  const stats = book.stats(unsettled);
  return {
    ...stats,
    schedulerLagMs: lag.summary(),
    skipped,
    ...(stats.samples ? { samples: { ...stats.samples, schedulerLag: lag.keptSamples() } } : {}),
  };
}
