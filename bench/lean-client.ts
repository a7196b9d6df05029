/**
 * A lean MQTT 5 QoS 1 publisher for the load generator: one socket per device (mutual TLS, or
 * plain TCP for the Mosquitto reference), packets encoded and parsed by mqtt-packet (the codec Vigil's gateway and mqtt.js
 * use), and nothing else. mqtt.js cost ~160 µs of CPU per message at half peak on this 2-core
 * machine (outgoing store, stream plumbing, a turn of the loop per packet), more than the
 * server's event loop spent on the same message; sharing the cores, the generator then measured
 * its own load as much as Vigil's. It offers the part of MqttClient the loops use, and says
 * what each PUBACK said: the reason code, and the reason string as the error's message.
 */
import { type Socket, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import type { DeviceCredentials } from './load-generator.ts';

const CONNECT_TIMEOUT_MS = 15_000;
const KEEPALIVE_SECONDS = 60;
const MQTT5 = { protocolVersion: 5 } as const;

export type PublishCallback = (err: (Error & { code?: number }) | undefined, packet?: Packet) => void;

/** The subset of mqtt.js's MqttClient the load loops and the cleanup use. */
export interface BenchClient {
  readonly connected: boolean;
  readonly stream: unknown;
  publish(topic: string, payload: string, opts: { qos: 1 }, callback: PublishCallback): void;
  end(force?: boolean, opts?: object, callback?: () => void): void;
}

class LeanClient implements BenchClient {
  connected = true;
  private readonly pending = new Map<number, PublishCallback>();
  private nextId = 0;
  private readonly ping: NodeJS.Timeout;

  constructor(readonly stream: Socket) {
    const parser = mqttPacket.parser(MQTT5);
    parser.on('packet', (packet: Packet) => this.onPacket(packet));
    parser.on('error', () => stream.destroy());
    stream.on('data', (chunk: Buffer) => parser.parse(chunk));
    stream.on('close', () => this.onClose());
    stream.on('error', () => {});
    this.ping = setInterval(() => this.send({ cmd: 'pingreq' }), (KEEPALIVE_SECONDS * 1000) / 2);
    this.ping.unref();
  }

  publish(topic: string, payload: string, _opts: { qos: 1 }, callback: PublishCallback): void {
    if (!this.connected) {
      callback(new Error('connection closed'));
      return;
    }
    const messageId = this.freeId();
    this.pending.set(messageId, callback);
    const packet: IPublishPacket = {
      cmd: 'publish',
      topic,
      payload,
      qos: 1,
      messageId,
      retain: false,
      dup: false,
    };
    this.send(packet);
  }

  end(force = false, _opts?: object, callback?: () => void): void {
    if (this.connected && !force) this.send({ cmd: 'disconnect' });
    this.connected = false;
    if (force) this.stream.destroy();
    else this.stream.end();
    if (callback) {
      if (this.stream.closed) callback();
      else this.stream.once('close', callback);
    }
  }

  private send(packet: Packet): void {
    if (!this.stream.writable) return;
    this.stream.write(mqttPacket.generate(packet, MQTT5));
  }

  /** Message ids 1–65535, skipping any still unacknowledged. */
  private freeId(): number {
    for (;;) {
      this.nextId = (this.nextId % 0xffff) + 1;
      if (!this.pending.has(this.nextId)) return this.nextId;
    }
  }

  private onPacket(packet: Packet): void {
    if (packet.cmd === 'puback') {
      const callback = this.pending.get(packet.messageId ?? 0);
      if (!callback) return;
      this.pending.delete(packet.messageId ?? 0);
      const code = packet.reasonCode ?? 0;
      if (code < 0x80) callback(undefined, packet);
      else {
        const reason = packet.properties?.reasonString ?? `reason code 0x${code.toString(16)}`;
        callback(Object.assign(new Error(reason), { code }), packet);
      }
    } else if (packet.cmd === 'disconnect') {
      this.stream.destroy();
    }
  }

  private onClose(): void {
    this.connected = false;
    clearInterval(this.ping);
    const lost = [...this.pending.values()];
    this.pending.clear();
    for (const callback of lost) callback(new Error('connection closed'));
  }
}

/** The refusal for a URL that is not on this machine: the benchmark loads nothing else. */
export function notLoopback(url: string): Error | undefined {
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]'
    ? undefined
    : new Error(`refusing to load ${host}: the benchmark only talks to loopback`);
}

/** Connects one device (mqtts:// with its certificate, or mqtt://) and resolves on a successful CONNACK. */
export function connectLeanClient(
  url: string,
  id: string,
  credentials?: DeviceCredentials,
): Promise<BenchClient> {
  const refused = notLoopback(url);
  if (refused) return Promise.reject(refused);
  const target = new URL(url);
  const tls = target.protocol === 'mqtts:';
  if (tls && !credentials) return Promise.reject(new Error(`${id}: mqtts:// needs a client certificate`));
  return new Promise((resolve, reject) => {
    const address = { host: target.hostname, port: Number(target.port) };
    const open = () =>
      tls && credentials
        ? tlsConnect({
            ...address,
            key: credentials.keyPem,
            cert: credentials.certPem,
            ca: credentials.caPem,
            rejectUnauthorized: true,
            minVersion: 'TLSv1.2',
          })
        : tcpConnect(address);
    let socket: Socket;
    try {
      socket = open();
    } catch (e) {
      // A key that does not match its certificate throws before any connection.
      reject(new Error(`${id} could not connect to ${url}: ${e instanceof Error ? e.message : String(e)}`));
      return;
    }
    // Each publish leaves at once, as from a device of its own; Nagle would hold it for an ACK.
    socket.setNoDelay(true);
    const parser = mqttPacket.parser(MQTT5);
    const timer = setTimeout(() => fail(new Error('no CONNACK in time')), CONNECT_TIMEOUT_MS);
    const fail = (e: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`${id} could not connect to ${url}: ${e.message}`));
    };
    const onData = (chunk: Buffer) => parser.parse(chunk);
    const onClose = () => fail(new Error('connection closed before CONNACK'));
    socket.once('error', fail);
    socket.once('close', onClose);
    socket.on('data', onData);
    parser.on('error', fail);
    parser.once('packet', (packet: Packet) => {
      if (packet.cmd !== 'connack' || (packet.reasonCode ?? 0) >= 0x80) {
        fail(new Error(`refused: ${packet.cmd} ${packet.cmd === 'connack' ? packet.reasonCode : ''}`));
        return;
      }
      clearTimeout(timer);
      socket.off('error', fail);
      socket.off('close', onClose);
      socket.off('data', onData);
      resolve(new LeanClient(socket));
    });
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      socket.write(
        mqttPacket.generate(
          {
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: 5,
            clean: true,
            clientId: id,
            keepalive: KEEPALIVE_SECONDS,
          },
          MQTT5,
        ),
      );
    });
  });
}
