/**
 * The benchmark's lean MQTT client (bench/lean-client.ts) against a real Vigil over mutual TLS
 * and the machine's Mosquitto over plain TCP: the load figures are only as true as what it
 * counts as acknowledged, refused or lost.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Packet } from 'mqtt-packet';
import { type BenchClient, connectLeanClient, type PublishCallback } from '../bench/lean-client.ts';
import type { EnrolledCredentials } from '../src/devices/enroll-client.ts';
import { createDeviceCa, createDeviceKeyAndCsr, signDeviceCsr } from '../src/pki/index.ts';
import { type Harness, startHarness, telemetry } from './support/vigil-harness.ts';

type Outcome = { err: (Error & { code?: number }) | undefined; packet: Packet | undefined };

function publish(client: BenchClient, topic: string, payload: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const done: PublishCallback = (err, packet) => resolve({ err, packet });
    client.publish(topic, payload, { qos: 1 }, done);
  });
}

const reasonOf = (o: Outcome) => (o.packet as { reasonCode?: number } | undefined)?.reasonCode;

describe('bench lean MQTT client', () => {
  let h: Harness;
  let creds: EnrolledCredentials;

  before(async () => {
    h = await startHarness();
    creds = await h.enrol('lean-1', 'pat-lean');
  });
  after(async () => {
    await h.stop();
  });

  it('publishes over mutual TLS; a success PUBACK only once the readings are stored', async () => {
    const client = await connectLeanClient(h.mqttUrl, 'lean-1', creds);
    try {
      const ts = new Date(Date.now() - 1000);
      const ok = await publish(
        client,
        'v1/devices/lean-1/telemetry',
        telemetry(1, [{ code: '8867-4', value: 71, unit: '/min' }], ts),
      );
      assert.equal(ok.err, undefined);
      assert.equal(reasonOf(ok), 0);
      const r = await h.api('/api/v1/patients/pat-lean/observations');
      assert.equal(r.status, 200, r.text);
      assert.equal((r.json as { observations: unknown[] }).observations.length, 1);
    } finally {
      client.end(false);
    }
  });

  it('hands a refusal back with its reason code and reason string', async () => {
    const client = await connectLeanClient(h.mqttUrl, 'lean-1', creds);
    try {
      const refused = await publish(client, 'v1/devices/lean-1/telemetry', '{"seq": "not a number"');
      assert.ok((reasonOf(refused) ?? 0) >= 0x80, `reason ${reasonOf(refused)}`);
      assert.equal(refused.err?.code, reasonOf(refused));
      assert.match(refused.err?.message ?? '', /^VIGIL_ERR_INGEST_/);
    } finally {
      client.end(false);
    }
  });

  it('refuses to connect without a certificate the server accepts', async () => {
    await assert.rejects(connectLeanClient(h.mqttUrl, 'lean-1'), /needs a client certificate/);
    await assert.rejects(
      connectLeanClient('mqtts://192.0.2.1:8883', 'lean-1', creds),
      /only talks to loopback/,
    );
    const rogueCa = await createDeviceCa({ organization: 'Rogue' });
    const { keyPkcs8Pem, csrPem } = await createDeviceKeyAndCsr('lean-1');
    const rogue = await signDeviceCsr(rogueCa, csrPem, 'lean-1');
    const stranger = {
      keyPem: keyPkcs8Pem,
      certPem: `${rogue.certificatePem}${rogue.chainPem}`,
      caPem: creds.caPem,
    };
    await assert.rejects(connectLeanClient(h.mqttUrl, 'lean-1', stranger), /lean-1 could not connect/);
  });

  it('fails every unacknowledged publish, without a reason code, when the connection is lost', async () => {
    const client = await connectLeanClient(h.mqttUrl, 'lean-1', creds);
    const ts = new Date(Date.now() - 1000);
    const inFlight = publish(
      client,
      'v1/devices/lean-1/telemetry',
      telemetry(2, [{ code: '8867-4', value: 72, unit: '/min' }], ts),
    );
    client.end(true);
    const lost = await inFlight;
    assert.ok(lost.err);
    assert.equal(lost.err.code, undefined);
    assert.equal(client.connected, false);
    const afterLoss = await publish(client, 'v1/devices/lean-1/telemetry', '{}');
    assert.match(afterLoss.err?.message ?? '', /connection closed/);
  });

  it('speaks plain MQTT 5 to Mosquitto, as the benchmark reference does', async () => {
    const client = await connectLeanClient('mqtt://127.0.0.1:1883', `vigil-lean-test-${process.pid}`);
    try {
      const ok = await publish(client, `vigil-test/lean/${process.pid}`, 'x');
      // 0x00, or 0x10 "no matching subscribers": both are success codes.
      assert.equal(ok.err, undefined);
      assert.ok((reasonOf(ok) ?? 0) < 0x80);
    } finally {
      client.end(false);
    }
  });
});
