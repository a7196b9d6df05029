import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { IConnackPacket, IDisconnectPacket } from 'mqtt-packet';
import { asDeviceId } from '../../errors/ids.ts';
import {
  connectDevice,
  endClient,
  RawDevice,
  type RunningGateway,
  startGateway,
  telemetryPayload,
  waitFor,
} from './test-gateway.ts';
import { createTestPki, type TestPki } from './test-pki.ts';

const DEV = asDeviceId('pump-77');

/** Connects with raw TLS and collects what happens; a refused handshake may fail only at first read (TLS 1.3). */
async function tryRawDevice(
  running: RunningGateway,
  pki: TestPki,
  certs?: Parameters<typeof RawDevice.open>[2],
) {
  try {
    const raw = await RawDevice.open(running.port, pki, certs);
    raw.connect(5);
    await raw.closed;
    return raw.packets;
  } catch {
    return [];
  }
}

describe('MQTT gateway against hostile or broken clients', () => {
  let pki: TestPki;
  let running: RunningGateway;

  before(async () => {
    pki = createTestPki();
    running = await startGateway(pki, { connectTimeoutMs: 300, keepaliveMaxSeconds: 60 });
  });
  after(async () => {
    await running.close();
    pki.remove();
  });

  it('refuses a client that sends no certificate', async () => {
    const packets = await tryRawDevice(running, pki);
    assert.deepEqual(packets, [], 'no CONNACK');
    await waitFor('refusal', () => running.hooks.refusalCodes().includes('VIGIL_ERR_TLS_NO_CERT'));
    assert.equal(running.hooks.connects.length, 0);
  });

  it('refuses a certificate issued by another CA', async () => {
    const packets = await tryRawDevice(running, pki, pki.rogueDevice(DEV));
    assert.deepEqual(packets, [], 'no CONNACK');
    await waitFor('refusal', () => running.hooks.refusalCodes().includes('VIGIL_ERR_TLS_BAD_CERT'));
    const refusal = running.hooks.refusals.find((r) => r.code === 'VIGIL_ERR_TLS_BAD_CERT');
    assert.match(refusal?.detail ?? '', /UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    assert.equal(running.gateway.isConnected(DEV), false);
  });

  it('refuses with CONNACK 0x88 when identify does not answer in time', async () => {
    const slow = await startGateway(pki, { connectTimeoutMs: 200 });
    slow.hooks.identify = () => new Promise(() => {});
    const err = await connectDevice(slow.port, pki, pki.device(DEV)).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal((err as { code?: number }).code, 0x88);
    assert.equal(slow.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_INTERNAL');
    await slow.close();
  });

  it('refuses with CONNACK 0x87 when identify says the device is quarantined', async () => {
    running.hooks.quarantined.add('quarantined-1');
    const err = await connectDevice(running.port, pki, pki.device('quarantined-1')).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal((err as { code?: number }).code, 0x87);
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_DEVICE_QUARANTINED');
    // TLS already verified the chain to the device CA, so the CN is authenticated, only not admitted:
    // the refusal is attributed to that device for the security officer.
    assert.equal(running.hooks.refusals.at(-1)?.deviceId, 'quarantined-1');
  });

  it('survives garbage after the TLS handshake and keeps serving other devices', async () => {
    const raw = await RawDevice.open(running.port, pki, pki.device(DEV));
    raw.socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await raw.closed;
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_PROTOCOL');
    const client = await connectDevice(running.port, pki, pki.device(DEV));
    await client.publishAsync(`v1/devices/${DEV}/telemetry`, telemetryPayload(1), { qos: 1 });
    await endClient(client);
  });

  it('survives random bytes from many connections at once', async () => {
    const raws = await Promise.all(
      Array.from({ length: 8 }, () => RawDevice.open(running.port, pki, pki.device(DEV))),
    );
    raws.forEach((raw, i) => {
      raw.connect(i % 2 === 0 ? 5 : 4);
      raw.socket.write(Buffer.from(Array.from({ length: 300 }, (_, j) => (j * 37 + i * 11) % 256)));
    });
    await Promise.all(raws.map((raw) => raw.closed));
    const client = await connectDevice(running.port, pki, pki.device(DEV));
    await endClient(client);
  });

  it('survives arbitrary bytes after CONNECT over either protocol version', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 1500 }),
        fc.constantFrom(4 as const, 5 as const),
        async (bytes, version) => {
          const raw = await RawDevice.open(running.port, pki, pki.device(DEV), version);
          raw.connect(version);
          // FIN after the bytes: whatever they meant, the connection must end without harm.
          raw.socket.end(Buffer.from(bytes));
          await raw.closed;
        },
      ),
      { numRuns: 100 },
    );
    await waitFor('all connections released', () => running.gateway.connectedCount() === 0);
    const client = await connectDevice(running.port, pki, pki.device(DEV));
    await client.publishAsync(`v1/devices/${DEV}/telemetry`, telemetryPayload(2), { qos: 1 });
    await endClient(client);
  });

  it('closes a connection whose packet declares more than the limit, before buffering it', async () => {
    const raw = await RawDevice.open(running.port, pki, pki.device(DEV));
    raw.connect(5);
    await waitFor('CONNACK', () => raw.packets.length > 0);
    // PUBLISH declaring a Remaining Length of 200 MB, followed by a trickle of body.
    raw.socket.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x64, 0, 1, 0x61]));
    await raw.closed;
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_INGEST_TOO_LARGE');
    assert.deepEqual(
      raw.packets.map((p) => p.cmd),
      ['connack', 'disconnect'],
    );
  });

  it('closes a connection that sends no CONNECT in time', async () => {
    const raw = await RawDevice.open(running.port, pki, pki.device(DEV));
    await raw.closed;
    assert.match(running.hooks.refusals.at(-1)?.detail ?? '', /no CONNECT within 300 ms/);
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_PROTOCOL');
  });

  it('closes a connection whose first packet is not CONNECT', async () => {
    const raw = await RawDevice.open(running.port, pki, pki.device(DEV));
    raw.send({ cmd: 'pingreq' });
    await raw.closed;
    assert.match(running.hooks.refusals.at(-1)?.detail ?? '', /first packet was pingreq/);
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_PROTOCOL');
  });

  it('closes with DISCONNECT 0x81 a connection that sends a malformed packet after CONNECT', async () => {
    const raw = await RawDevice.open(running.port, pki, pki.device(DEV));
    raw.connect(5);
    await waitFor('CONNACK', () => raw.packets.length > 0);
    raw.socket.write(Buffer.from([0x36, 0x00])); // PUBLISH with QoS 3, which no packet may have (§3.3.1.2)
    await raw.closed;
    const disconnect = raw.packets.at(-1) as IDisconnectPacket | undefined;
    assert.deepEqual([disconnect?.cmd, disconnect?.reasonCode], ['disconnect', 0x81]);
    assert.equal(disconnect?.properties?.reasonString, 'VIGIL_ERR_MQTT_PROTOCOL');
    assert.match(running.hooks.refusals.at(-1)?.detail ?? '', /^malformed MQTT packet/);
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_PROTOCOL');
  });

  it('closes with DISCONNECT 0x82 a connection that sends a packet only a server or QoS 2 sends', async () => {
    const raw = await RawDevice.open(running.port, pki, pki.device(DEV));
    raw.connect(5);
    await waitFor('CONNACK', () => raw.packets.length > 0);
    raw.send({ cmd: 'pubrel', messageId: 1 });
    await raw.closed;
    const disconnect = raw.packets.at(-1) as IDisconnectPacket | undefined;
    assert.deepEqual([disconnect?.cmd, disconnect?.reasonCode], ['disconnect', 0x82]);
    assert.match(running.hooks.refusals.at(-1)?.detail ?? '', /unexpected pubrel/);
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_PROTOCOL');
  });

  it('refuses MQTT 3.1 (MQIsdp) with return code 1', async () => {
    const raw = await RawDevice.open(running.port, pki, pki.device(DEV), 4);
    raw.send(
      { cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 3, clean: true, keepalive: 30, clientId: 'x' },
      4,
    );
    await raw.closed;
    assert.equal((raw.packets[0] as IConnackPacket | undefined)?.returnCode, 1);
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_UNSUPPORTED');
  });

  it('drops a device that stays silent for 1.5 times its keepalive', async () => {
    const raw = await RawDevice.open(running.port, pki, pki.device(DEV));
    const started = Date.now();
    raw.connect(5, 1);
    await raw.closed;
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1400 && elapsed < 4000, `closed after ${elapsed} ms`);
    assert.equal(raw.packets.at(-1)?.cmd, 'disconnect');
    assert.equal(running.hooks.disconnects.at(-1), DEV);
  });

  it('answers PINGREQ and keeps a pinging device', async () => {
    const raw = await RawDevice.open(running.port, pki, pki.device(DEV));
    raw.connect(5, 1);
    for (let i = 0; i < 4; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      raw.send({ cmd: 'pingreq' });
    }
    await waitFor('PINGRESPs', () => raw.packets.filter((p) => p.cmd === 'pingresp').length === 4);
    assert.equal(running.gateway.isConnected(DEV), true);
    raw.send({ cmd: 'disconnect', reasonCode: 0 });
    await raw.closed;
    await waitFor('release', () => !running.gateway.isConnected(DEV));
  });
});
