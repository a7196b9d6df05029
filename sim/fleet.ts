import { DeviceRunner, type FleetCounters } from './device-runner.ts';
import { deriveSeed } from './random.ts';
import { createSignal } from './signals/create-signal.ts';
import type { DeviceKind, Scenario } from './signals/types.ts';
import { SimClock } from './sim-clock.ts';

export type { DeviceKind, Scenario } from './signals/types.ts';

/** An enrolled device as the simulator plays it (the output of `vigil device enroll`). */
export interface SimDevice {
  deviceId: string;
  kind: DeviceKind;
  keyPem: string;
  /** Leaf certificate followed by its chain. */
  certPem: string;
  /** The anchor that verifies the server's certificate. */
  caPem: string;
}

export interface FleetOptions {
  /** mqtts://host:port; plain mqtt:// is refused, devices speak only over TLS. */
  mqttUrl: string;
  devices: SimDevice[];
  /** Upload ticks per second per device, may be fractional (0.2 = every 5 s). */
  rate: number;
  /** Makes the patients: the same seed and device ids give the same physiology. Default 1. */
  seed?: number;
  scenario?: Scenario;
  /** Per-device scenarios (device id -> scenario), taking precedence over `scenario`. */
  scenarioByDevice?: ReadonlyMap<string, Scenario>;
  /** Simulated ms after the start at which the scenario begins. Default 0 (at once). */
  scenarioAfterMs?: number;
  log?: (line: string) => void;
  protocolVersion?: 4 | 5;
  /** Simulated seconds per real second. Default 1. */
  timeCompression?: number;
}

/** Telemetry counts (status messages are not counted). */
export interface FleetStats {
  /** Telemetry messages published. */
  sent: number;
  /** Telemetry messages acknowledged as stored (PUBACK success). */
  acked: number;
  /** Refused telemetry messages by PUBACK reason, e.g. "0x83 VIGIL_ERR_INGEST_REPLAY". */
  refused: Record<string, number>;
  /** Readings carried by acknowledged messages. */
  readings: number;
  /** Devices connected now. */
  connected: number;
  /** Connection failures, failed subscriptions and publishes that failed without a reason code. */
  errors: number;
}

const DEFAULT_SEED = 1;
/** Devices' first uploads are spread over one tick, but not over more than this. */
const MAX_START_SPREAD_MS = 5_000;
/** ...and at least this far apart, so N TLS handshakes do not land on the broker at once. */
const MIN_START_GAP_MS = 2;

/**
 * A fleet of simulated devices speaking the public device protocol to Vigil (or any MQTT
 * broker): one mqtt.js client per device over mutual TLS, QoS 1 telemetry, status every
 * minute, and a subscription to its command topic. Timers are deliberately not unref'd:
 * a running fleet keeps the process alive until stop().
 *
 * Each device uploads once per tick what it has measured since the last tick; a device
 * measures at its own clinical cadence (CGM every 5 min, cuff every 15 min, oximeter every
 * second, thermometer every minute of simulated time), so a tick with nothing new sends
 * nothing. Raise timeCompression to make readings, and load, denser.
 */
export class Fleet {
  private readonly opts: FleetOptions;
  private readonly counters: FleetCounters = {
    sent: 0,
    acked: 0,
    refused: {},
    readings: 0,
    connected: 0,
    errors: 0,
  };
  private runners: DeviceRunner[] = [];
  private hasStarted = false;

  constructor(opts: FleetOptions) {
    validateFleetOptions(opts);
    this.opts = opts;
  }

  /** Resolves once every device has connected or failed its first attempt (it keeps retrying). */
  async start(): Promise<void> {
    if (this.hasStarted) throw new Error('this fleet was already started; create a new Fleet to run again');
    this.hasStarted = true;
    const { devices, rate } = this.opts;
    const log = this.opts.log ?? (() => {});
    const seed = this.opts.seed ?? DEFAULT_SEED;
    const clock = new SimClock(Date.now(), this.opts.timeCompression ?? 1);
    const tickMs = 1000 / rate;
    const scenarioStartMs = clock.realStartMs + (this.opts.scenarioAfterMs ?? 0);
    this.runners = devices.map((device) => {
      const deviceSeed = deriveSeed(seed, device.deviceId);
      const signal = createSignal(device.kind, deviceSeed, {
        scenario: this.opts.scenarioByDevice?.get(device.deviceId) ?? this.opts.scenario,
        scenarioStartMs,
        timestamp: (simMs) => clock.stamp(simMs),
      });
      return new DeviceRunner({
        device,
        mqttUrl: this.opts.mqttUrl,
        protocolVersion: this.opts.protocolVersion ?? 5,
        signal,
        clock,
        tickMs,
        seed: deriveSeed(deviceSeed, 'device'),
        counters: this.counters,
        log,
      });
    });
    warnIfSparse(this.runners, clock.timeCompression, rate, log);
    const spreadMs = Math.max(Math.min(tickMs, MAX_START_SPREAD_MS), devices.length * MIN_START_GAP_MS);
    await Promise.all(this.runners.map((runner, i) => runner.start((i * spreadMs) / devices.length)));
    log(`fleet: ${this.counters.connected} of ${devices.length} devices connected to ${this.opts.mqttUrl}`);
  }

  stats(): FleetStats {
    return { ...this.counters, refused: { ...this.counters.refused } };
  }

  /** Waits briefly for outstanding PUBACKs, then disconnects every device. */
  async stop(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.stop()));
  }
}

function validateFleetOptions(opts: FleetOptions): void {
  if (!/^mqtts:\/\/[^/]+/.test(opts.mqttUrl)) {
    throw new RangeError(
      `mqttUrl "${opts.mqttUrl}" is not mqtts://host:port: devices connect only over TLS with a client certificate`,
    );
  }
  if (!(Number.isFinite(opts.rate) && opts.rate > 0)) {
    throw new RangeError(
      `rate ${opts.rate} is not a positive number of uploads per second per device (e.g. 1 or 0.2)`,
    );
  }
  const compression = opts.timeCompression ?? 1;
  if (!(Number.isFinite(compression) && compression > 0)) {
    throw new RangeError(
      `timeCompression ${compression} is not a positive number of simulated seconds per second`,
    );
  }
  if (opts.scenarioAfterMs !== undefined && !(opts.scenarioAfterMs >= 0)) {
    throw new RangeError(
      `scenarioAfterMs ${opts.scenarioAfterMs} is not a non-negative number of milliseconds`,
    );
  }
  if (opts.devices.length === 0)
    throw new RangeError('the fleet has no devices: pass at least one enrolled device');
  const seen = new Set<string>();
  for (const { deviceId } of opts.devices) {
    if (seen.has(deviceId)) {
      throw new RangeError(
        `device id ${deviceId} appears twice: MQTT client ids must be unique, or the broker drops the older connection`,
      );
    }
    seen.add(deviceId);
  }
}

/** Says once per kind when most ticks will be empty, so a load test is not silently light. */
function warnIfSparse(
  runners: readonly DeviceRunner[],
  compression: number,
  rate: number,
  log: (line: string) => void,
) {
  const cadenceByKind = new Map(runners.map((r) => [r.kind, r.cadenceMs] as const));
  for (const [kind, cadenceMs] of cadenceByKind) {
    const measurementsPerSecond = (1000 * compression) / cadenceMs;
    if (measurementsPerSecond >= rate) continue;
    log(
      `fleet: a ${kind} measures every ${cadenceMs / 1000} simulated s, so at timeCompression ${compression} ` +
        `it has news for about ${measurementsPerSecond.toPrecision(2)} of its ${rate} uploads/s; ` +
        'raise timeCompression for denser readings',
    );
  }
}
