import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ErrorWithReasonCode, MqttClient } from 'mqtt';
import {
  generate,
  type IConnackPacket,
  type IConnectPacket,
  type IDisconnectPacket,
  type IPubackPacket,
  type IPublishPacket,
  type Packet,
} from 'mqtt-packet';
import { VigilError } from '../../errors/catalogue.ts';
import { asDeviceId } from '../../errors/ids.ts';
import {
  connectDevice,
  deferred,
  endClient,
  expectBurstThrottled,
  holdTelemetry,
  nextDisconnect,
  nextEvent,
  nextMessage,
  publishBurst,
  RawDevice,
  type RunningGateway,
  sleep,
  startGateway,
  telemetryPayload,
  waitFor,
} from './test-gateway.ts';
import { createTestPki, type TestPki } from './test-pki.ts';

const DEV = asDeviceId('cgm-5001');
const TELEMETRY = `v1/devices/${DEV}/telemetry`;
const COMMANDS = `v1/devices/${DEV}/commands`;

function received(client: MqttClient): Packet[] {
  const packets: Packet[] = [];
  client.on('packetreceive', (packet) => packets.push(packet));
  return packets;
}

function pubackError(err: unknown): ErrorWithReasonCode {
  assert.ok(err instanceof Error, 'publish should fail');
  return err as ErrorWithReasonCode;
}

/** mqtt.js rejects a subscription with ErrorWithSubackPacket, carrying the SUBACK. */
function subackCodes(err: unknown): unknown[] {
  assert.ok(err instanceof Error, 'subscribe should fail');
  return (err as Error & { packet?: { granted?: unknown[] } }).packet?.granted ?? [];
}

describe('MQTT gateway, MQTT 5 devices', () => {
  let pki: TestPki;
  let running: RunningGateway;
  let port: number;

  before(async () => {
    pki = createTestPki();
    running = await startGateway(pki, { maxPayloadBytes: 2048 });
    port = running.port;
  });
  after(async () => {
    await running.close();
    pki.remove();
  });

  const device = () => connectDevice(port, pki, pki.device(DEV));

  /** A raw MQTT 5 device that has sent CONNECT with `extra` and received CONNACK. */
  async function rawDevice(extra: Partial<IConnectPacket> = {}): Promise<RawDevice> {
    const raw = await RawDevice.open(port, pki, pki.device(DEV));
    raw.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepalive: 60,
      clientId: '',
      ...extra,
    });
    await waitFor('CONNACK', () => raw.packets.some((p) => p.cmd === 'connack'));
    return raw;
  }

  function publishTo(topic: string, messageId: number, qos: 0 | 1 | 2 = 1): IPublishPacket {
    return {
      cmd: 'publish',
      topic,
      payload: Buffer.from(telemetryPayload(messageId)),
      qos,
      messageId,
      retain: false,
      dup: false,
    };
  }

  it('gives no Reason String on PUBACK to a device that asked for no problem information', async () => {
    const raw = await rawDevice({ properties: { requestProblemInformation: false } });
    raw.send(publishTo('v1/devices/other-1/telemetry', 7));
    await waitFor('PUBACK', () => raw.packets.some((p) => p.cmd === 'puback'));
    const ack = raw.packets.find((p): p is IPubackPacket => p.cmd === 'puback');
    assert.equal(ack?.reasonCode, 0x87, 'the reason code is still given');
    assert.equal(ack?.properties?.reasonString, undefined);
    raw.close();
  });

  it('still gives the Reason String on DISCONNECT to a device that asked for no problem information', async () => {
    const raw = await rawDevice({ properties: { requestProblemInformation: false } });
    raw.send(publishTo(TELEMETRY, 8, 2));
    await waitFor('DISCONNECT', () => raw.packets.some((p) => p.cmd === 'disconnect'));
    const disconnect = raw.packets.find((p): p is IDisconnectPacket => p.cmd === 'disconnect');
    assert.equal(disconnect?.reasonCode, 0x9b);
    assert.equal(disconnect?.properties?.reasonString, 'VIGIL_ERR_MQTT_QOS2');
    raw.close();
  });

  it("drops the Reason String rather than exceed the device's Maximum Packet Size", async () => {
    // 34 bytes take this CONNACK; the refusing PUBACK with its Reason String would be 36.
    const raw = await rawDevice({ properties: { maximumPacketSize: 34 } });
    const chunks: Buffer[] = [];
    raw.socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    raw.send(publishTo('v1/devices/other-1/telemetry', 9));
    await waitFor('PUBACK', () => raw.packets.some((p) => p.cmd === 'puback'));
    const ack = raw.packets.find((p): p is IPubackPacket => p.cmd === 'puback');
    assert.equal(ack?.reasonCode, 0x87);
    assert.equal(ack?.properties?.reasonString, undefined);
    assert.ok(Buffer.concat(chunks).length <= 34);
    raw.close();
  });

  it('accepts a packet of exactly the advertised Maximum Packet Size, and closes one byte over', async () => {
    for (const extraBytes of [0, 1]) {
      const raw = await rawDevice();
      const max = (raw.packets[0] as IConnackPacket).properties?.maximumPacketSize ?? 0;
      const padded = (padBytes: number) =>
        generate(
          { ...publishTo(TELEMETRY, 1), properties: { userProperties: { p: 'x'.repeat(padBytes) } } },
          { protocolVersion: 5 },
        );
      const target = max + extraBytes;
      const padBytes = target - padded(0).length;
      // Length fields grow with the padding: take back the bytes they gained.
      const bytes = padded(padBytes - (padded(padBytes).length - target));
      assert.equal(bytes.length, target);
      raw.socket.write(bytes);
      await waitFor('an answer', () => raw.packets.length > 1);
      const answer = raw.packets[1] as Packet & { reasonCode?: number };
      if (extraBytes === 0) assert.deepEqual([answer.cmd, answer.reasonCode], ['puback', 0]);
      else assert.deepEqual([answer.cmd, answer.reasonCode], ['disconnect', 0x95]);
      raw.close();
    }
  });

  it('refuses with CONNACK 0x95 a device whose Maximum Packet Size no CONNACK fits in', async () => {
    const raw = await rawDevice({ properties: { maximumPacketSize: 16 } });
    const connack = raw.packets[0] as IConnackPacket;
    assert.equal(connack.reasonCode, 0x95);
    assert.ok((connack.length ?? 0) + 2 <= 16);
    await raw.closed;
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_UNSUPPORTED');
  });

  it('sends PUBACK for QoS 1 telemetry only after onTelemetry resolves', async () => {
    const hold = deferred();
    let called = false;
    running.hooks.beforeTelemetry = async () => {
      called = true;
      await hold.promise;
    };
    const client = await device();
    const packets = received(client);
    const reading = telemetryPayload(1);
    const published = client.publishAsync(TELEMETRY, reading, { qos: 1 });
    await waitFor('onTelemetry call', () => called);
    await sleep(100);
    assert.equal(packets.filter((p) => p.cmd === 'puback').length, 0, 'no PUBACK before commit');
    hold.resolve();
    await published;
    assert.equal(packets.filter((p) => p.cmd === 'puback').length, 1);
    assert.equal(running.hooks.telemetry.at(-1)?.payload.toString(), reading);
    running.hooks.beforeTelemetry = async () => {};
    await endClient(client);
  });

  it('sends the PUBACKs of publishes settled together in one write', async () => {
    const hold = deferred();
    let calls = 0;
    running.hooks.beforeTelemetry = async () => {
      calls += 1;
      await hold.promise;
    };
    const raw = await RawDevice.open(port, pki, pki.device(DEV));
    const chunks: Buffer[] = [];
    raw.socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    raw.connect(5);
    await waitFor('CONNACK', () => raw.packets.some((p) => p.cmd === 'connack'));
    chunks.length = 0;
    for (let i = 1; i <= 5; i++) {
      raw.send({
        cmd: 'publish',
        topic: TELEMETRY,
        payload: Buffer.from(telemetryPayload(200 + i)),
        qos: 1,
        messageId: i,
        retain: false,
        dup: false,
      });
    }
    await waitFor('5 onTelemetry calls', () => calls === 5);
    // One commit settling five messages: their PUBACKs leave in one TLS record, one read here.
    hold.resolve();
    await waitFor('5 PUBACKs', () => raw.packets.filter((p) => p.cmd === 'puback').length === 5);
    assert.equal(chunks.length, 1, 'the five PUBACKs should arrive together');
    running.hooks.beforeTelemetry = async () => {};
    raw.close();
  });

  it('keeps many publishes of one device in flight at once', async () => {
    const hold = deferred();
    let calls = 0;
    running.hooks.beforeTelemetry = async () => {
      calls += 1;
      await hold.promise;
    };
    const client = await device();
    const all = Array.from({ length: 30 }, (_, i) =>
      client.publishAsync(TELEMETRY, telemetryPayload(100 + i), { qos: 1 }),
    );
    await waitFor('30 concurrent onTelemetry calls', () => calls === 30);
    hold.resolve();
    await Promise.all(all);
    running.hooks.beforeTelemetry = async () => {};
    await endClient(client);
  });

  it('slows down, but serves, a burst over its Receive Maximum (mqtt.js ignores it)', async () => {
    const hold = deferred();
    let calls = 0;
    running.hooks.beforeTelemetry = async () => {
      calls += 1;
      await hold.promise;
    };
    const client = await device();
    const all = Array.from({ length: 400 }, (_, i) =>
      client.publishAsync(TELEMETRY, telemetryPayload(1000 + i), { qos: 1 }),
    );
    await waitFor('Receive Maximum reached', () => calls >= 100);
    hold.resolve();
    await Promise.all(all);
    assert.equal(calls, 400);
    assert.ok(client.connected);
    running.hooks.beforeTelemetry = async () => {};
    await endClient(client);
  });

  it('never has more than Receive Maximum publishes in flight, however many one read holds', async () => {
    const held = holdTelemetry(running.hooks);
    const raw = await RawDevice.open(port, pki, pki.device(DEV));
    raw.connect(5);
    await waitFor('CONNACK', () => raw.packets.some((p) => p.cmd === 'connack'));
    raw.socket.write(publishBurst(DEV, 400, 5));
    await expectBurstThrottled(raw, held);
    running.hooks.beforeTelemetry = async () => {};
    raw.close();
  });

  it('holds publishes that arrive with CONNECT to the same Receive Maximum', async () => {
    const held = holdTelemetry(running.hooks);
    const raw = await RawDevice.open(port, pki, pki.device(DEV));
    const connect = generate(
      { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 60, clientId: '' },
      { protocolVersion: 5 },
    );
    raw.socket.write(Buffer.concat([connect, publishBurst(DEV, 400, 5)]));
    await expectBurstThrottled(raw, held);
    running.hooks.beforeTelemetry = async () => {};
    raw.close();
  });

  it('refuses a reading the pipeline rejects with the catalogue reason code in PUBACK', async () => {
    running.hooks.beforeTelemetry = async () => {
      throw new VigilError('VIGIL_ERR_INGEST_REPLAY', 'seq 7 is not above 9');
    };
    const client = await device();
    const packets = received(client);
    const err = await client.publishAsync(TELEMETRY, telemetryPayload(7), { qos: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal(pubackError(err).code, 0x83);
    const ack = packets.find((p): p is IPubackPacket => p.cmd === 'puback');
    assert.equal(ack?.properties?.reasonString, 'VIGIL_ERR_INGEST_REPLAY');
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_INGEST_REPLAY');
    assert.equal(running.hooks.refusals.at(-1)?.deviceId, DEV);
    assert.ok(client.connected, 'a refused reading does not cost the connection');
    running.hooks.beforeTelemetry = async () => {};
    await endClient(client);
  });

  it("refuses a publish to another device's topic with 0x87 and keeps the connection", async () => {
    const client = await device();
    const before = running.hooks.telemetry.length;
    const err = await client
      .publishAsync('v1/devices/other-1/telemetry', telemetryPayload(1), { qos: 1 })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.equal(pubackError(err).code, 0x87);
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_TOPIC_DENIED');
    assert.equal(running.hooks.telemetry.length, before);
    await client.publishAsync(TELEMETRY, telemetryPayload(2), { qos: 1 });
    await endClient(client);
  });

  it('refuses a publish to a topic that is no device topic with 0x90', async () => {
    const client = await device();
    const err = await client.publishAsync('$SYS/broker/uptime', 'x', { qos: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal(pubackError(err).code, 0x90);
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_BAD_TOPIC');
    await endClient(client);
  });

  it("refuses a subscription to another device's commands topic with 0x87", async () => {
    const client = await device();
    const err = await client.subscribeAsync('v1/devices/other-1/commands', { qos: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.deepEqual(subackCodes(err), [0x87]);
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_TOPIC_DENIED');
    const wildcard = await client.subscribeAsync('v1/devices/+/commands').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.deepEqual(subackCodes(wildcard), [0x87]);
    await endClient(client);
  });

  it('delivers publishToDevice to the subscribed device and not before it subscribes', async () => {
    const client = await device();
    assert.equal(running.gateway.publishToDevice(DEV, '{"type":"ping"}'), false);
    const granted = await client.subscribeAsync(COMMANDS, { qos: 1 });
    assert.equal(granted[0]?.qos, 1);
    const message = nextMessage(client);
    assert.equal(running.gateway.publishToDevice(DEV, '{"type":"update","version":"2.1.0"}'), true);
    const { topic, payload } = await message;
    assert.equal(topic, COMMANDS);
    assert.deepEqual(JSON.parse(payload.toString()), { type: 'update', version: '2.1.0' });
    await endClient(client);
  });

  it('accepts status at QoS 0 through onStatus', async () => {
    const client = await device();
    await client.publishAsync(`v1/devices/${DEV}/status`, '{"battery":80}', { qos: 0 });
    await waitFor('status', () =>
      running.hooks.status.some((s) => s.payload.toString() === '{"battery":80}'),
    );
    await endClient(client);
  });

  it('refuses a payload over the limit with 0x99 without calling onTelemetry', async () => {
    const client = await device();
    const before = running.hooks.telemetry.length;
    const err = await client.publishAsync(TELEMETRY, Buffer.alloc(2500, 0x20), { qos: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal(pubackError(err).code, 0x99);
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_INGEST_TOO_LARGE');
    assert.equal(running.hooks.telemetry.length, before);
    await endClient(client);
  });

  it('closes with DISCONNECT 0x95 a packet larger than the limit plus headroom', async () => {
    const client = await device();
    const disconnect = nextDisconnect(client);
    client.publish(TELEMETRY, Buffer.alloc(8000, 0x20), { qos: 0 });
    const packet = await disconnect;
    assert.equal(packet.reasonCode, 0x95);
    await endClient(client);
  });

  it('withholds PUBACK and disconnects when the store fails, so the device resends', async () => {
    running.hooks.beforeTelemetry = async () => {
      throw new VigilError('VIGIL_ERR_INGEST_STORE_FAILED', 'disk full');
    };
    const client = await device();
    const packets = received(client);
    const disconnect = nextDisconnect(client);
    client.publish(TELEMETRY, telemetryPayload(3), { qos: 1 });
    const packet = await disconnect;
    assert.equal(packet.reasonCode, 0x89);
    assert.equal(packets.filter((p) => p.cmd === 'puback').length, 0);
    running.hooks.beforeTelemetry = async () => {};
    await endClient(client);
  });

  it('refuses with CONNACK 0x9B a will at QoS 2, which CONNACK would say is not offered', async () => {
    const will = {
      topic: `v1/devices/${DEV}/status`,
      payload: Buffer.from('gone'),
      qos: 2 as const,
      retain: false,
    };
    const raw = await rawDevice({ will });
    assert.equal((raw.packets[0] as IConnackPacket).reasonCode, 0x9b);
    await raw.closed;
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_QOS2');
  });

  it('refuses with CONNACK 0x9A a will to be retained, since no message is retained', async () => {
    const will = {
      topic: `v1/devices/${DEV}/status`,
      payload: Buffer.from('gone'),
      qos: 1 as const,
      retain: true,
    };
    const raw = await rawDevice({ will });
    assert.equal((raw.packets[0] as IConnackPacket).reasonCode, 0x9a);
    await raw.closed;
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_UNSUPPORTED');
  });

  it('accepts a will at QoS 0 or 1 without retain (and never publishes it)', async () => {
    const will = {
      topic: `v1/devices/${DEV}/status`,
      payload: Buffer.from('gone'),
      qos: 1 as const,
      retain: false,
    };
    const raw = await rawDevice({ will });
    assert.equal((raw.packets[0] as IConnackPacket).reasonCode, 0);
    raw.close();
  });

  it('disconnects with 0x9A a device that publishes with RETAIN, and stores nothing of it', async () => {
    const raw = await rawDevice();
    const before = running.hooks.telemetry.length;
    raw.send({ ...publishTo(TELEMETRY, 3), retain: true });
    await waitFor('DISCONNECT', () => raw.packets.some((p) => p.cmd === 'disconnect'));
    const disconnect = raw.packets.find((p): p is IDisconnectPacket => p.cmd === 'disconnect');
    assert.equal(disconnect?.reasonCode, 0x9a);
    assert.equal(
      raw.packets.some((p) => p.cmd === 'puback'),
      false,
    );
    assert.equal(running.hooks.telemetry.length, before);
    assert.equal(disconnect?.properties?.reasonString, 'VIGIL_ERR_MQTT_UNSUPPORTED');
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_UNSUPPORTED');
    await raw.closed;
  });

  it('disconnects with 0x82 a device that sends SUBSCRIBE with no filter [MQTT-3.8.3-3]', async () => {
    const raw = await rawDevice();
    raw.socket.write(Buffer.from([0x82, 0x03, 0x00, 0x09, 0x00])); // message id 9, no properties, no filter
    await raw.closed;
    const disconnect = raw.packets.find((p): p is IDisconnectPacket => p.cmd === 'disconnect');
    assert.equal(disconnect?.reasonCode, 0x82);
    assert.equal(disconnect?.properties?.reasonString, 'VIGIL_ERR_MQTT_PROTOCOL');
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_PROTOCOL');
  });

  it('disconnects a device at QoS 2 with 0x9B', async () => {
    const client = await device();
    const disconnect = nextDisconnect(client);
    client.publish(TELEMETRY, telemetryPayload(4), { qos: 2 });
    const packet = await disconnect;
    assert.equal(packet.reasonCode, 0x9b);
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_QOS2');
    await endClient(client);
  });

  it('closes a live device on disconnect() with DISCONNECT 0x87', async () => {
    const client = await device();
    assert.equal(running.gateway.isConnected(DEV), true);
    const disconnect = nextDisconnect(client);
    const closed = nextEvent(client, 'close');
    running.gateway.disconnect(DEV, 'VIGIL_ERR_DEVICE_QUARANTINED');
    const packet = await disconnect;
    assert.equal(packet.reasonCode, 0x87);
    assert.equal(packet.properties?.reasonString, 'VIGIL_ERR_DEVICE_QUARANTINED');
    await closed;
    assert.equal(running.gateway.isConnected(DEV), false);
    assert.equal(running.hooks.disconnects.at(-1), DEV);
    await endClient(client);
  });

  it('lets a second connection of the device take over the first (0x8E)', async () => {
    const first = await device();
    const takenOver = nextDisconnect(first);
    const second = await device();
    const packet = await takenOver;
    assert.equal(packet.reasonCode, 0x8e);
    assert.equal(running.gateway.connectedCount(), 1);
    await second.publishAsync(TELEMETRY, telemetryPayload(5), { qos: 1 });
    await endClient(first);
    await endClient(second);
  });

  it('advertises in CONNACK what it does not offer, and that sessions are not kept', async () => {
    const raw = await RawDevice.open(port, pki, pki.device(DEV));
    raw.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepalive: 0,
      clientId: '',
      properties: { sessionExpiryInterval: 3600 },
    });
    await waitFor('CONNACK', () => raw.packets.length > 0);
    const connack = raw.packets[0] as IConnackPacket;
    assert.equal(connack.reasonCode, 0);
    assert.equal(connack.sessionPresent, false);
    assert.deepEqual(connack.properties, {
      receiveMaximum: 100,
      maximumQoS: 1,
      retainAvailable: false,
      maximumPacketSize: 1 + 2 + 2048 + 1024, // type byte, two-byte Remaining Length, the rest
      wildcardSubscriptionAvailable: false,
      subscriptionIdentifiersAvailable: false,
      sharedSubscriptionAvailable: false,
      assignedClientIdentifier: DEV,
      serverKeepAlive: 1200,
      sessionExpiryInterval: 0,
    });
    raw.close();
    await raw.closed;
  });

  it("refuses a client id that is not the certificate's device id with 0x85", async () => {
    const err = await connectDevice(port, pki, pki.device(DEV), { clientId: 'someone-else' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal((err as { code?: number }).code, 0x85);
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_AUTH_FORBIDDEN');
  });

  it('accepts the device id itself as client id', async () => {
    const client = await connectDevice(port, pki, pki.device(DEV), { clientId: DEV });
    assert.deepEqual(running.hooks.connects.at(-1), { deviceId: DEV, protocolVersion: 5 });
    await endClient(client);
  });
});
