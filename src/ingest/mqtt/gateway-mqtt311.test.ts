import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { Packet } from 'mqtt-packet';
import { VigilError } from '../../errors/catalogue.ts';
import { asDeviceId } from '../../errors/ids.ts';
import {
  connectDevice,
  deferred,
  endClient,
  expectBurstThrottled,
  holdTelemetry,
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

const DEV = asDeviceId('oximeter-311');
const TELEMETRY = `v1/devices/${DEV}/telemetry`;
const COMMANDS = `v1/devices/${DEV}/commands`;

function received(client: MqttClient): Packet[] {
  const packets: Packet[] = [];
  client.on('packetreceive', (packet) => packets.push(packet));
  return packets;
}

describe('MQTT gateway, MQTT 3.1.1 devices', () => {
  let pki: TestPki;
  let running: RunningGateway;

  before(async () => {
    pki = createTestPki();
    running = await startGateway(pki);
  });
  after(async () => {
    await running.close();
    pki.remove();
  });

  const device = () => connectDevice(running.port, pki, pki.device(DEV), { protocolVersion: 4 });

  it('sends PUBACK for QoS 1 telemetry only after onTelemetry resolves', async () => {
    const hold = deferred();
    let called = false;
    running.hooks.beforeTelemetry = async () => {
      called = true;
      await hold.promise;
    };
    const client = await device();
    assert.deepEqual(running.hooks.connects.at(-1), { deviceId: DEV, protocolVersion: 4 });
    const packets = received(client);
    const published = client.publishAsync(TELEMETRY, telemetryPayload(1), { qos: 1 });
    await waitFor('onTelemetry call', () => called);
    await sleep(100);
    assert.equal(packets.filter((p) => p.cmd === 'puback').length, 0, 'no PUBACK before commit');
    hold.resolve();
    await published;
    assert.equal(packets.filter((p) => p.cmd === 'puback').length, 1);
    running.hooks.beforeTelemetry = async () => {};
    await endClient(client);
  });

  it('throttles a burst in one read to Receive Maximum in flight, and acknowledges all of it', async () => {
    // 3.1.1 cannot be told a Receive Maximum, so it must be slowed down, never dropped for it.
    const held = holdTelemetry(running.hooks);
    const raw = await RawDevice.open(running.port, pki, pki.device(DEV), 4);
    raw.connect(4);
    await waitFor('CONNACK', () => raw.packets.some((p) => p.cmd === 'connack'));
    raw.socket.write(publishBurst(DEV, 400, 4));
    await expectBurstThrottled(raw, held);
    running.hooks.beforeTelemetry = async () => {};
    raw.close();
  });

  it('accepts a will at QoS 2 or retained, and a retained publish, ignoring both (3.1.1 cannot say why)', async () => {
    const client = await connectDevice(running.port, pki, pki.device(DEV), {
      protocolVersion: 4,
      will: { topic: `v1/devices/${DEV}/status`, payload: Buffer.from('gone'), qos: 2, retain: true },
    });
    const before = running.hooks.telemetry.length;
    await client.publishAsync(TELEMETRY, telemetryPayload(41), { qos: 1, retain: true });
    assert.equal(running.hooks.telemetry.length, before + 1);
    assert.ok(client.connected);
    await endClient(client);
  });

  it('acknowledges a refused reading anyway and says why on the commands topic', async () => {
    running.hooks.beforeTelemetry = async () => {
      throw new VigilError('VIGIL_ERR_INGEST_REPLAY', 'seq 17 is not above 20');
    };
    const client = await device();
    await client.subscribeAsync(COMMANDS, { qos: 1 });
    const message = nextMessage(client);
    await client.publishAsync(TELEMETRY, telemetryPayload(17), { qos: 1 });
    const { topic, payload } = await message;
    assert.equal(topic, COMMANDS);
    assert.deepEqual(JSON.parse(payload.toString()), {
      type: 'refused',
      seq: 17,
      code: 'VIGIL_ERR_INGEST_REPLAY',
    });
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_INGEST_REPLAY');
    running.hooks.beforeTelemetry = async () => {};
    await endClient(client);
  });

  it("closes the connection of a device publishing to another device's topic", async () => {
    const client = await device();
    const closed = nextEvent(client, 'close');
    client.publish('v1/devices/someone-else/telemetry', telemetryPayload(1), { qos: 1 });
    await closed;
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_TOPIC_DENIED');
    await waitFor('release of the device', () => !running.gateway.isConnected(DEV));
    await endClient(client);
  });

  it('closes the connection of a device that sends SUBSCRIBE with no filter [MQTT-3.8.3-3]', async () => {
    const raw = await RawDevice.open(running.port, pki, pki.device(DEV), 4);
    raw.connect(4);
    await waitFor('CONNACK', () => raw.packets.some((p) => p.cmd === 'connack'));
    raw.socket.write(Buffer.from([0x82, 0x02, 0x00, 0x09])); // SUBSCRIBE, message id 9, no filter
    await raw.closed;
    assert.deepEqual(
      raw.packets.map((p) => p.cmd),
      ['connack'],
    );
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_PROTOCOL');
  });

  it("refuses a subscription to another device's commands topic with 0x80", async () => {
    const client = await device();
    const err = await client.subscribeAsync('v1/devices/someone-else/commands', { qos: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof Error);
    assert.deepEqual((err as Error & { packet?: { granted?: unknown[] } }).packet?.granted, [0x80]);
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_TOPIC_DENIED');
    assert.ok(client.connected);
    await endClient(client);
  });

  it('delivers publishToDevice to the subscribed device', async () => {
    const client = await device();
    await client.subscribeAsync(COMMANDS, { qos: 0 });
    const message = nextMessage(client);
    assert.equal(running.gateway.publishToDevice(DEV, Buffer.from('{"type":"identify"}')), true);
    const { payload } = await message;
    assert.equal(payload.toString(), '{"type":"identify"}');
    await endClient(client);
  });

  it('refuses a revoked certificate with CONNACK return code 5', async () => {
    const revoked = pki.device('revoked-311');
    running.hooks.revokedSerials.add(revoked.serial.toUpperCase());
    const err = await connectDevice(running.port, pki, revoked, { protocolVersion: 4 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal((err as { code?: number }).code, 5);
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_TLS_REVOKED');
  });

  it('closes a live device on disconnect()', async () => {
    const client = await device();
    const closed = nextEvent(client, 'close');
    running.gateway.disconnect(DEV, 'VIGIL_ERR_TLS_REVOKED');
    await closed;
    assert.equal(running.gateway.isConnected(DEV), false);
    await endClient(client);
  });
});
