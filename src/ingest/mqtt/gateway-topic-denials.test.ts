import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IDisconnectPacket, IPubackPacket, ISubackPacket } from 'mqtt-packet';
import { asDeviceId } from '../../errors/ids.ts';
import { MAX_TOPIC_DENIALS } from './connection.ts';
import { RawDevice, type RunningGateway, startGateway, telemetryPayload, waitFor } from './test-gateway.ts';
import { createTestPki, type TestPki } from './test-pki.ts';

const DEV = asDeviceId('probe-1');

describe('MQTT 5 device probing topics outside its own', () => {
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

  async function connected(): Promise<RawDevice> {
    const raw = await RawDevice.open(running.port, pki, pki.device(DEV));
    raw.connect(5);
    await waitFor('CONNACK', () => raw.packets.some((p) => p.cmd === 'connack'));
    return raw;
  }

  const deniedCount = () =>
    running.hooks.refusals.filter((r) => r.code === 'VIGIL_ERR_MQTT_TOPIC_DENIED').length;

  it(`answers each denied publish with PUBACK 0x87, then disconnects with 0x87 at the ${MAX_TOPIC_DENIALS}th`, async () => {
    const raw = await connected();
    const eventsBefore = deniedCount();
    for (let id = 1; id <= MAX_TOPIC_DENIALS + 2; id++) {
      raw.send({
        cmd: 'publish',
        topic: `v1/devices/other-${id}/telemetry`,
        payload: Buffer.from(telemetryPayload(id)),
        qos: 1,
        messageId: id,
        retain: false,
        dup: false,
      });
    }
    await waitFor('the gateway to close the connection', () => raw.socket.destroyed);
    const acks = raw.packets.filter((p): p is IPubackPacket => p.cmd === 'puback');
    assert.equal(acks.length, MAX_TOPIC_DENIALS);
    assert.ok(acks.every((a) => a.reasonCode === 0x87));
    const disconnect = raw.packets.find((p): p is IDisconnectPacket => p.cmd === 'disconnect');
    assert.equal(disconnect?.reasonCode, 0x87);
    assert.equal(disconnect?.properties?.reasonString, 'VIGIL_ERR_MQTT_TOPIC_DENIED');
    assert.equal(deniedCount() - eventsBefore, MAX_TOPIC_DENIALS, 'one refusal event per denial');
  });

  it('counts denied subscriptions in the same session budget', async () => {
    const raw = await connected();
    for (let id = 1; id <= MAX_TOPIC_DENIALS; id++) {
      raw.send({
        cmd: 'subscribe',
        messageId: id,
        subscriptions: [{ topic: `v1/devices/other-${id}/commands`, qos: 1 }],
      });
    }
    await waitFor('the gateway to close the connection', () => raw.socket.destroyed);
    const subacks = raw.packets.filter((p): p is ISubackPacket => p.cmd === 'suback');
    assert.equal(subacks.length, MAX_TOPIC_DENIALS);
    assert.ok(subacks.every((s) => s.granted[0] === 0x87));
    const disconnect = raw.packets.find((p): p is IDisconnectPacket => p.cmd === 'disconnect');
    assert.equal(disconnect?.reasonCode, 0x87);
  });

  it('keeps a device that was refused fewer times than that', async () => {
    const raw = await connected();
    for (let id = 1; id < MAX_TOPIC_DENIALS; id++) {
      raw.send({
        cmd: 'subscribe',
        messageId: id,
        subscriptions: [{ topic: `v1/devices/other-${id}/commands`, qos: 1 }],
      });
    }
    await waitFor(
      'SUBACKs',
      () => raw.packets.filter((p) => p.cmd === 'suback').length === MAX_TOPIC_DENIALS - 1,
    );
    raw.send({ cmd: 'pingreq' });
    await waitFor('PINGRESP', () => raw.packets.some((p) => p.cmd === 'pingresp'));
    assert.equal(raw.socket.destroyed, false);
    raw.close();
  });
});
