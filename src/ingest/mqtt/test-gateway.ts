/**
 * Test support only: a real gateway on port 0 with recording hooks, and device clients (mqtt.js
 * and a raw TLS socket speaking mqtt-packet) that present certificates from the test PKI.
 */
import assert from 'node:assert/strict';
import { type EventEmitter, once } from 'node:events';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { generate, type IDisconnectPacket, parser as mqttParser, type Packet } from 'mqtt-packet';
import pino from 'pino';
import { VigilError } from '../../errors/catalogue.ts';
import { asDeviceId, type DeviceId } from '../../errors/ids.ts';
import { type GatewayOptions, MqttGateway, type RefusalEvent } from './gateway.ts';
import type { CertFiles, TestPki } from './test-pki.ts';

export type PayloadHandler = (deviceId: DeviceId, payload: Buffer) => Promise<void>;

/** Hooks that record what the gateway told them; identify reads the CN like the real one. */
export class RecordingHooks {
  readonly telemetry: Array<{ deviceId: DeviceId; payload: Buffer }> = [];
  readonly status: Array<{ deviceId: DeviceId; payload: Buffer }> = [];
  readonly refusals: RefusalEvent[] = [];
  readonly connects: Array<{ deviceId: DeviceId; protocolVersion: number }> = [];
  readonly disconnects: DeviceId[] = [];
  readonly revokedSerials = new Set<string>();
  readonly quarantined = new Set<string>();
  /** Runs before a telemetry payload is recorded; replace it to hold or refuse a message. */
  beforeTelemetry: PayloadHandler = async () => {};

  async identify(socket: TLSSocket): Promise<DeviceId> {
    const cert = socket.getPeerCertificate();
    const cn = cert.subject?.CN;
    if (typeof cn !== 'string') throw new VigilError('VIGIL_ERR_TLS_BAD_CERT', 'certificate has no CN');
    if (this.revokedSerials.has(cert.serialNumber.toUpperCase())) {
      throw new VigilError('VIGIL_ERR_TLS_REVOKED', `certificate ${cert.serialNumber} of ${cn} is revoked`);
    }
    if (this.quarantined.has(cn))
      throw new VigilError('VIGIL_ERR_DEVICE_QUARANTINED', `device ${cn} is quarantined`);
    return asDeviceId(cn);
  }

  async onTelemetry(deviceId: DeviceId, payload: Buffer): Promise<void> {
    await this.beforeTelemetry(deviceId, payload);
    this.telemetry.push({ deviceId, payload });
  }

  async onStatus(deviceId: DeviceId, payload: Buffer): Promise<void> {
    this.status.push({ deviceId, payload });
  }

  onRefusal(event: RefusalEvent): void {
    this.refusals.push(event);
  }

  onConnect(deviceId: DeviceId, protocolVersion: number): void {
    this.connects.push({ deviceId, protocolVersion });
  }

  onDisconnect(deviceId: DeviceId): void {
    this.disconnects.push(deviceId);
  }

  refusalCodes(): string[] {
    return this.refusals.map((r) => r.code);
  }
}

export interface RunningGateway {
  readonly gateway: MqttGateway;
  readonly hooks: RecordingHooks;
  readonly port: number;
  close(): Promise<void>;
}

export async function startGateway(
  pki: TestPki,
  options: Partial<Omit<GatewayOptions, 'tls' | 'hooks' | 'log'>> = {},
): Promise<RunningGateway> {
  const hooks = new RecordingHooks();
  const gateway = new MqttGateway({
    tls: { key: pki.server.key, cert: pki.server.cert, ca: pki.ca },
    hooks,
    log: pino({ level: process.env.VIGIL_TEST_LOG ?? 'silent' }),
    ...options,
  });
  const port = await gateway.listen(0, '127.0.0.1');
  return { gateway, hooks, port, close: () => gateway.close() };
}

/** Connects mqtt.js as a device; resolves on CONNACK success, rejects on refusal or error. */
export async function connectDevice(
  port: number,
  pki: TestPki,
  certs: CertFiles,
  options: Partial<IClientOptions> = {},
): Promise<MqttClient> {
  const client = mqtt.connect({
    protocol: 'mqtts',
    host: '127.0.0.1',
    port,
    ca: pki.ca,
    key: certs.key,
    cert: certs.cert,
    protocolVersion: 5,
    clientId: '',
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  });
  try {
    await Promise.race([
      nextEvent(client, 'connect'),
      nextEvent(client, 'error').then(([err]) => Promise.reject(err)),
      nextEvent(client, 'close').then(() => Promise.reject(new Error('closed before CONNACK'))),
    ]);
  } catch (err) {
    client.end(true);
    throw err;
  }
  return client;
}

/** mqtt.js's typed emitter is a Node EventEmitter at runtime; this lets events.once() see it. */
export function nextEvent(client: MqttClient, name: string): Promise<unknown[]> {
  return once(client as unknown as EventEmitter, name);
}

export async function nextDisconnect(client: MqttClient): Promise<IDisconnectPacket> {
  const [packet] = await nextEvent(client, 'disconnect');
  return packet as IDisconnectPacket;
}

export async function nextMessage(client: MqttClient): Promise<{ topic: string; payload: Buffer }> {
  const [topic, payload] = await nextEvent(client, 'message');
  return { topic: topic as string, payload: payload as Buffer };
}

export async function endClient(client: MqttClient): Promise<void> {
  await client.endAsync(true);
}

/** A raw TLS connection that speaks MQTT through mqtt-packet, for what mqtt.js will not send. */
export class RawDevice {
  readonly packets: Packet[] = [];
  readonly closed: Promise<void>;
  private readonly parser: ReturnType<typeof mqttParser>;

  private constructor(
    readonly socket: TLSSocket,
    protocolVersion: 4 | 5,
  ) {
    this.parser = mqttParser({ protocolVersion });
    this.parser.on('packet', (packet) => this.packets.push(packet));
    this.parser.on('error', () => {});
    socket.on('data', (chunk: Buffer) => this.parser.parse(chunk));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** @param protocolVersion how to read the gateway's packets */
  static async open(
    port: number,
    pki: TestPki,
    certs?: CertFiles,
    protocolVersion: 4 | 5 = 5,
  ): Promise<RawDevice> {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      ca: pki.ca,
      ...(certs === undefined ? {} : { key: certs.key, cert: certs.cert }),
    });
    const device = new RawDevice(socket, protocolVersion);
    await Promise.race([
      once(socket, 'secureConnect'),
      once(socket, 'error').then(([e]) => Promise.reject(e)),
    ]);
    return device;
  }

  send(packet: Packet, protocolVersion: 4 | 5 = 5): void {
    this.socket.write(generate(packet, { protocolVersion }));
  }

  connect(protocolVersion: 4 | 5, keepalive = 60, clientId = ''): void {
    const connect: Packet = {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion,
      clean: true,
      keepalive,
      clientId,
    };
    this.send(connect, protocolVersion);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Polls until `condition` holds; fails the test with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise with its resolver exposed, to hold a hook until the test lets it go. */
export function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export function telemetryPayload(seq: number): string {
  return JSON.stringify({
    seq,
    ts: new Date().toISOString(),
    readings: [{ code: '8867-4', value: 72, unit: '/min' }],
  });
}

/** `count` QoS 1 telemetry PUBLISHes encoded back to back, for one write (and one read). */
export function publishBurst(deviceId: DeviceId, count: number, protocolVersion: 4 | 5): Buffer {
  const packets = Array.from({ length: count }, (_, i) =>
    generate(
      {
        cmd: 'publish',
        topic: `v1/devices/${deviceId}/telemetry`,
        payload: Buffer.from(`{"seq":${i + 1}}`),
        qos: 1,
        messageId: i + 1,
        retain: false,
        dup: false,
      },
      { protocolVersion },
    ),
  );
  return Buffer.concat(packets);
}

/** Holds every telemetry call until release() and records how many were in flight at most. */
export function holdTelemetry(hooks: RecordingHooks): { peak(): number; release(): void } {
  const hold = deferred();
  let inFlight = 0;
  let peak = 0;
  hooks.beforeTelemetry = async () => {
    inFlight += 1;
    peak = Math.max(peak, inFlight);
    await hold.promise;
    inFlight -= 1;
  };
  return { peak: () => peak, release: () => hold.resolve() };
}

/**
 * After a burst of `count` publishes was written in one go with telemetry held: never more than
 * `receiveMaximum` reach the pipeline at once (not even after a pause), and once released every
 * one is acknowledged on a connection that stayed open.
 */
export async function expectBurstThrottled(
  raw: RawDevice,
  held: ReturnType<typeof holdTelemetry>,
  count = 400,
  receiveMaximum = 100,
): Promise<void> {
  await waitFor('Receive Maximum reached', () => held.peak() >= receiveMaximum);
  await sleep(200);
  assert.equal(held.peak(), receiveMaximum);
  held.release();
  await waitFor(`${count} PUBACKs`, () => raw.packets.filter((p) => p.cmd === 'puback').length === count);
  assert.equal(held.peak(), receiveMaximum);
  assert.equal(raw.socket.destroyed, false);
}
