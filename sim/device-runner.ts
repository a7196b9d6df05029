import type { ConnectionOptions } from 'node:tls';
import {
  connect,
  ErrorWithReasonCode,
  type IClientOptions,
  type MqttClient,
  type Packet,
  ReasonCodes,
} from 'mqtt';
import type { SimDevice } from './fleet.ts';
import { Random } from './random.ts';
import type { DeviceKind, Reading, Signal } from './signals/types.ts';
import type { SimClock } from './sim-clock.ts';

/** Live counters shared by a fleet's devices; FleetStats is a snapshot of them. */
export interface FleetCounters {
  sent: number;
  acked: number;
  refused: Record<string, number>;
  readings: number;
  connected: number;
  errors: number;
}

export interface DeviceRunnerOptions {
  device: SimDevice;
  mqttUrl: string;
  protocolVersion: 4 | 5;
  signal: Signal;
  clock: SimClock;
  /** Real ms between two uploads (1000 / rate). */
  tickMs: number;
  seed: number;
  counters: FleetCounters;
  log: (line: string) => void;
}

const STATUS_EVERY_MS = 60_000;
/** ~70 bytes a reading: 200 keep a message near 14 KB, well under the protocol's 64 KiB. */
const MAX_READINGS_PER_MESSAGE = 200;
/**
 * Uploads awaiting their PUBACK, at most. mqtt.js ignores the server's Receive Maximum (MQTT 5
 * §3.3.4), so without this a stalled server would collect one more message every tick.
 * Vigil's default Receive Maximum; a server advertising less gets less.
 */
const MAX_IN_FLIGHT = 100;
/**
 * Readings a device keeps while it cannot upload (offline, or its uploads unacknowledged):
 * a device's memory is finite, and the oldest are dropped first, as a CGM's ring buffer does.
 */
const MAX_STORED_READINGS = 1_000;
const RECONNECT_BASE_MS = 1_000;
const RECONNECT_MAX_MS = 30_000;
const CONNECT_TIMEOUT_MS = 10_000;
/** How long stop() waits for outstanding PUBACKs before closing anyway. */
const DRAIN_TIMEOUT_MS = 5_000;

/** What the status message reports, per kind: firmware and battery drain per simulated hour. */
const DEVICE_PROFILE: Record<DeviceKind, { firmware: string; drainPercentPerHour: number }> = {
  cgm: { firmware: '3.2.1', drainPercentPerHour: 0.1 }, // transmitters last months
  'pulse-oximeter': { firmware: '1.8.0', drainPercentPerHour: 2 }, // 1 Hz radio: a day or two
  'bp-cuff': { firmware: '2.0.4', drainPercentPerHour: 0.3 }, // the pump draws, but rarely
  thermometer: { firmware: '1.1.7', drainPercentPerHour: 0.5 },
};
const BATTERY_FLOOR_PERCENT = 5;

/**
 * One simulated device: an MQTT client over mTLS that uploads what its signal measured,
 * reports status every minute and listens for commands, as a real device firmware would.
 */
export class DeviceRunner {
  private client: MqttClient | undefined;
  private timers: NodeJS.Timeout[] = [];
  private startTimer: NodeJS.Timeout | undefined;
  private settleStart: (() => void) | undefined;
  private seq = 0;
  private inFlight = 0;
  /** What the server takes unacknowledged at once (MQTT 5 CONNACK Receive Maximum), capped. */
  private inFlightLimit = MAX_IN_FLIGHT;
  /** Measured but not yet published, oldest first; at most MAX_STORED_READINGS. */
  private stored: Reading[] = [];
  private hasDroppedReadings = false;
  private isConnected = false;
  private isStopping = false;
  private hasSubscribed = false;
  private reconnectAttempts = 0;
  private startedRealMs = 0;
  private readonly rand: Random;
  private readonly batteryStartPercent: number;
  private readonly refusalsByKey = new Map<string, number>();

  constructor(private readonly opts: DeviceRunnerOptions) {
    this.rand = new Random(opts.seed);
    this.batteryStartPercent = this.rand.range(60, 100);
  }

  get deviceId(): string {
    return this.opts.device.deviceId;
  }

  get kind(): DeviceKind {
    return this.opts.signal.kind;
  }

  get cadenceMs(): number {
    return this.opts.signal.cadenceMs;
  }

  /** Begins after `delayMs`; resolves at the first connection outcome (connected, or failed and retrying). */
  start(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      this.settleStart = resolve;
      this.startTimer = setTimeout(() => {
        this.startTimer = undefined;
        this.startedRealMs = Date.now();
        this.client = this.connect();
        this.timers.push(setInterval(() => this.tick(), this.opts.tickMs));
        this.timers.push(setInterval(() => this.sendStatus(), STATUS_EVERY_MS));
      }, delayMs);
    });
  }

  async stop(): Promise<void> {
    this.isStopping = true;
    if (this.startTimer !== undefined) clearTimeout(this.startTimer);
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.settle();
    const client = this.client;
    if (client === undefined) return;
    // Let outstanding uploads get their PUBACK, so the stats are final when stop() resolves.
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (this.inFlight > 0 && client.connected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Forced when PUBACKs are still missing: a graceful end waits for every one of them, so a
    // server that stopped answering would hold stop(), and the SIGINT that called it, forever.
    await client.endAsync(!client.connected || this.inFlight > 0);
  }

  private connect(): MqttClient {
    const { device } = this.opts;
    // No servername: mqtt.js sends SNI only for host names, and Node checks an IP host
    // against the certificate's IP SANs, so mqtts://127.0.0.1 verifies as it should.
    const options: IClientOptions & Pick<ConnectionOptions, 'minVersion'> = {
      protocolVersion: this.opts.protocolVersion,
      clientId: device.deviceId,
      key: device.keyPem,
      cert: device.certPem,
      ca: device.caPem,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      clean: true,
      reconnectPeriod: RECONNECT_BASE_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // mqtt.js gives up for good on a refused CONNACK (quarantined, server unavailable or
      // busy) unless told otherwise; a device keeps trying, with the same backoff.
      reconnectOnConnackError: true,
    };
    const client = connect(this.opts.mqttUrl, options);
    client.on('connect', (connack) => this.onConnect(client, connack.properties?.receiveMaximum));
    client.on('close', () => this.onClose());
    client.on('error', (error) => this.onError(error));
    client.on('reconnect', () => this.backOff(client));
    client.on('message', (topic, payload) => {
      this.opts.log(`${device.deviceId}: command on ${topic}: ${payload.toString('utf8').slice(0, 200)}`);
    });
    return client;
  }

  /** @param receiveMaximum the server's, from CONNACK; absent means 65,535 (MQTT 5 §3.2.2.3.3) */
  private onConnect(client: MqttClient, receiveMaximum: number | undefined): void {
    this.inFlightLimit = Math.min(MAX_IN_FLIGHT, receiveMaximum ?? MAX_IN_FLIGHT);
    if (!this.isConnected) this.opts.counters.connected++;
    this.isConnected = true;
    client.options.reconnectPeriod = RECONNECT_BASE_MS;
    this.reconnectAttempts = 0;
    this.opts.log(`${this.deviceId}: connected`);
    if (!this.hasSubscribed) {
      // Subscribed once; mqtt.js renews the subscription after each reconnection.
      this.hasSubscribed = true;
      client.subscribe(`v1/devices/${this.deviceId}/commands`, { qos: 1 }, (error) => {
        if (error) this.countError(`subscribe to commands failed: ${error.message}`);
      });
    }
    this.sendStatus();
    this.tick(); // upload what was measured while offline without waiting a whole tick
    this.settle();
  }

  private onClose(): void {
    if (this.isConnected) {
      this.isConnected = false;
      this.opts.counters.connected--;
      if (!this.isStopping) this.opts.log(`${this.deviceId}: disconnected; reconnecting`);
    }
    this.settle();
  }

  private onError(error: Error): void {
    this.countError(`connection error: ${error.message}`);
    this.settle();
  }

  /**
   * Exponential backoff with jitter (AWS Architecture Blog, "Exponential Backoff and
   * Jitter"): when a broker restarts, thousands of devices must not come back in one wave.
   * mqtt.js reads reconnectPeriod anew before each wait, so setting it here shapes the next wait.
   */
  private backOff(client: MqttClient): void {
    this.reconnectAttempts++;
    const ceilingMs = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** this.reconnectAttempts);
    client.options.reconnectPeriod = Math.round(ceilingMs * this.rand.range(0.5, 1));
  }

  private tick(): void {
    const client = this.client;
    if (client === undefined || this.isStopping) return;
    // The device measures whether or not it can upload; what it cannot upload yet stays in its
    // memory and goes out as a backfill after reconnecting, as CGMs and oximeters with memory do.
    const measured = this.opts.signal.sample(this.opts.clock.simNow());
    if (measured.length > 0) this.stored = this.stored.concat(measured);
    while (this.isConnected && this.stored.length > 0 && this.inFlight < this.inFlightLimit) {
      this.publishTelemetry(client, this.stored.splice(0, MAX_READINGS_PER_MESSAGE));
    }
    this.forgetOldest();
  }

  /** Keeps what could not go out within the device's memory. */
  private forgetOldest(): void {
    const excess = this.stored.length - MAX_STORED_READINGS;
    if (excess <= 0) {
      this.hasDroppedReadings = false;
      return;
    }
    this.stored = this.stored.slice(excess);
    if (!this.hasDroppedReadings) {
      this.hasDroppedReadings = true;
      this.opts.log(`${this.deviceId}: memory full (${MAX_STORED_READINGS} readings); dropping the oldest`);
    }
  }

  private publishTelemetry(client: MqttClient, readings: Reading[]): void {
    const seq = this.nextSeq();
    const payload = JSON.stringify({ seq, ts: new Date().toISOString(), readings });
    this.opts.counters.sent++;
    this.inFlight++;
    client.publish(`v1/devices/${this.deviceId}/telemetry`, payload, { qos: 1 }, (error, packet) => {
      this.inFlight--;
      this.onTelemetryOutcome(seq, readings.length, error, packet);
    });
  }

  /**
   * seq is a hybrid clock: at least the wall-clock millisecond, and always one above the last
   * seq. A restarted simulator begins again from Date.now(), above every seq its previous run
   * sent (a device uploads far fewer than 1000 messages a second), so Vigil does not refuse
   * the new run as a replay; within a run seq never steps back, even if the wall clock does.
   * mqtt.js resends an unacknowledged message with its original payload, so a redelivery
   * keeps its seq, and the reconnection itself cannot reorder seqs.
   */
  private nextSeq(): number {
    this.seq = Math.max(this.seq + 1, Date.now());
    return this.seq;
  }

  private onTelemetryOutcome(
    seq: number,
    readingCount: number,
    error: Error | null | undefined,
    packet: Packet | undefined,
  ): void {
    const { counters } = this.opts;
    // mqtt.js reports success with a null error despite its typings.
    if (error === null || error === undefined) {
      counters.acked++;
      counters.readings += readingCount;
      return;
    }
    if (error instanceof ErrorWithReasonCode) {
      // MQTT 5 §3.4.2.1: a PUBACK reason code >= 0x80 means the message was not accepted;
      // Vigil names the cause in the reason string (a VIGIL_ERR_* code).
      const reasonString = packet?.cmd === 'puback' ? packet.properties?.reasonString : undefined;
      const key = refusalKey(error.code, reasonString);
      counters.refused[key] = (counters.refused[key] ?? 0) + 1;
      const mine = (this.refusalsByKey.get(key) ?? 0) + 1;
      this.refusalsByKey.set(key, mine);
      if (mine === 1 || mine % 100 === 0)
        this.opts.log(`${this.deviceId}: seq ${seq} refused (${key}), ${mine} so far`);
      return;
    }
    // Closing the client fails what is still in flight; that is the stop, not an error.
    if (!this.isStopping) this.countError(`telemetry seq ${seq} failed: ${error.message}`);
  }

  private sendStatus(): void {
    const client = this.client;
    if (client === undefined || !this.isConnected || this.isStopping) return;
    const profile = DEVICE_PROFILE[this.opts.signal.kind];
    const uptimeMs = Date.now() - this.startedRealMs;
    const simHours = (uptimeMs * this.opts.clock.timeCompression) / 3_600_000;
    const battery = Math.max(
      BATTERY_FLOOR_PERCENT,
      this.batteryStartPercent - profile.drainPercentPerHour * simHours,
    );
    const status = {
      ts: new Date().toISOString(),
      battery: Math.round(battery),
      firmware: profile.firmware,
      uptime: Math.floor(uptimeMs / 1000),
    };
    client.publish(`v1/devices/${this.deviceId}/status`, JSON.stringify(status), { qos: 1 }, (error) => {
      if (error instanceof ErrorWithReasonCode) {
        this.opts.log(`${this.deviceId}: status refused (${refusalKey(error.code, undefined)})`);
      }
    });
  }

  private countError(message: string): void {
    if (this.isStopping) return;
    this.opts.counters.errors++;
    this.opts.log(`${this.deviceId}: ${message}`);
  }

  private settle(): void {
    this.settleStart?.();
    this.settleStart = undefined;
  }
}

/** "0x87 Not authorized", or with Vigil's reason string "0x83 VIGIL_ERR_INGEST_REPLAY". */
export function refusalKey(code: number, reasonString: string | undefined): string {
  const hex = `0x${code.toString(16).padStart(2, '0')}`;
  const name = (ReasonCodes as Record<number, string | undefined>)[code];
  return `${hex} ${reasonString ?? name ?? 'unknown reason'}`;
}
