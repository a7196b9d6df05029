import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import mqtt from 'mqtt';
import { generate, type IConnectPacket, parser as mqttParser, type Packet } from 'mqtt-packet';
import type { EnrolledCredentials } from '../src/devices/enroll-client.ts';
import { createDeviceCa, createDeviceKeyAndCsr, signDeviceCsr } from '../src/pki/index.ts';
import { until } from './support/until.ts';
import { type Harness, publishQos1, startHarness, telemetry } from './support/vigil-harness.ts';

const HR = (value: number) => ({ code: '8867-4', value, unit: '/min' });

async function eventsFor(
  h: Harness,
  code: string,
): Promise<Array<{ code: string; deviceId?: string; detail: string }>> {
  const r = await h.api(`/api/v1/security/events?code=${code}&limit=100`);
  assert.equal(r.status, 200, r.text);
  return (r.json as { events: Array<{ code: string; deviceId?: string; detail: string }> }).events;
}

async function metricValue(h: Harness, code: string): Promise<number> {
  const r = await h.api('/metrics');
  const line = r.text.split('\n').find((l) => l.startsWith(`vigil_refusals_total{code="${code}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/**
 * A device speaking MQTT 5 by hand over its mutual-TLS socket, to send what no client library
 * would; it reads the gateway's packets until the gateway closes the connection.
 */
async function rawDevice(h: Harness, creds: EnrolledCredentials) {
  const socket = tlsConnect({
    host: '127.0.0.1',
    port: h.vigil.mqttPort,
    key: creds.keyPem,
    cert: creds.certPem,
    ca: creds.caPem,
  });
  const packets: Packet[] = [];
  let isClosed = false;
  const parser = mqttParser({ protocolVersion: 5 });
  parser.on('packet', (packet) => packets.push(packet));
  parser.on('error', () => {});
  socket.on('data', (chunk: Buffer) => parser.parse(chunk));
  socket.on('error', () => {});
  socket.once('close', () => {
    isClosed = true;
  });
  await once(socket, 'secureConnect');
  return {
    packets,
    send: (packet: Packet) => socket.write(generate(packet, { protocolVersion: 5 })),
    write: (bytes: number[]) => socket.write(Buffer.from(bytes)),
    async connect(extra: Partial<IConnectPacket> = {}) {
      const connect: IConnectPacket = {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 5,
        clean: true,
        keepalive: 60,
        clientId: '',
        ...extra,
      };
      socket.write(generate(connect, { protocolVersion: 5 }));
      await until('CONNACK', () => (packets.some((p) => p.cmd === 'connack') ? true : undefined));
    },
    closed: () => until('the gateway to close the connection', () => (isClosed ? true : undefined)),
  };
}

describe('ingest over MQTT with mutual TLS', () => {
  let h: Harness;
  let a: EnrolledCredentials;
  let b: EnrolledCredentials;
  let client: mqtt.MqttClient;
  let seq = 1000;

  before(async () => {
    h = await startHarness();
    a = await h.enrol('ox-a', 'pat-a');
    b = await h.enrol('ox-b', 'pat-b');
    client = await h.connect(a, 'ox-a');
  });
  after(async () => {
    client.end(true);
    await h.stop();
  });

  it('stores readings and acknowledges them, then serves them decrypted', async () => {
    const ts = new Date(Date.now() - 1000);
    const payload = telemetry(
      ++seq,
      [HR(72), { code: '59408-5', value: 97, unit: '%' }, { code: '2339-0', value: 5.5, unit: 'mmol/L' }],
      ts,
    );
    assert.equal(await publishQos1(client, 'v1/devices/ox-a/telemetry', payload), 0);
    const r = await h.api('/api/v1/patients/pat-a/observations');
    assert.equal(r.status, 200, r.text);
    const obs = (
      r.json as {
        observations: Array<{ code: string; value: number; unit: string; device: string; effective: string }>;
      }
    ).observations;
    const byCode = Object.fromEntries(obs.map((o) => [o.code, o]));
    assert.equal(byCode['8867-4']?.value, 72);
    assert.equal(byCode['59408-5']?.value, 97);
    assert.equal(byCode['2339-0']?.value, 99);
    assert.equal(byCode['2339-0']?.unit, 'mg/dL');
    assert.equal(byCode['8867-4']?.device, 'ox-a');
    assert.equal(byCode['8867-4']?.effective, ts.toISOString());
  });

  it('counts each stored message in the commit-wait histogram and each transaction in the commit ones', async () => {
    const value = async (name: string) => {
      const line = (await h.api('/metrics')).text.split('\n').find((l) => l.startsWith(`${name} `));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const [waits, transactions, messages] = [
      await value('vigil_ingest_commit_wait_seconds_count'),
      await value('vigil_ingest_commit_seconds_count'),
      await value('vigil_ingest_commit_batch_messages_sum'),
    ];
    assert.equal(await publishQos1(client, 'v1/devices/ox-a/telemetry', telemetry(++seq, [HR(73)])), 0);
    assert.equal(await value('vigil_ingest_commit_wait_seconds_count'), waits + 1);
    assert.equal(await value('vigil_ingest_commit_seconds_count'), transactions + 1);
    assert.equal(await value('vigil_ingest_commit_batch_messages_sum'), messages + 1);
  });

  it("keeps another patient's readings apart", async () => {
    const r = await h.api('/api/v1/patients/pat-b/observations');
    assert.deepEqual((r.json as { observations: unknown[] }).observations, []);
  });

  const refusals: Array<[string, string, () => string | Buffer, number]> = [
    ['a replayed seq', 'VIGIL_ERR_INGEST_REPLAY', () => telemetry(1, [HR(70)]), 0x83],
    ['a payload over 64 KiB', 'VIGIL_ERR_INGEST_TOO_LARGE', () => Buffer.alloc(64 * 1024 + 200, 0x20), 0x99],
    ['bad JSON', 'VIGIL_ERR_INGEST_BAD_JSON', () => '{"seq": 5, "ts": ', 0x99],
    [
      'an unknown code',
      'VIGIL_ERR_INGEST_UNKNOWN_CODE',
      () => telemetry(++seq, [{ code: '99999-9', value: 1, unit: '/min' }]),
      0x83,
    ],
    [
      'a wrong unit',
      'VIGIL_ERR_INGEST_BAD_UNIT',
      () => telemetry(++seq, [{ code: '8480-6', value: 120, unit: 'mmHg' }]),
      0x83,
    ],
    ['an implausible value', 'VIGIL_ERR_INGEST_IMPLAUSIBLE', () => telemetry(++seq, [HR(900)]), 0x83],
    [
      'a timestamp in the future',
      'VIGIL_ERR_INGEST_FUTURE',
      () => telemetry(++seq, [HR(70)], new Date(Date.now() + 3_600_000)),
      0x83,
    ],
  ];
  for (const [what, code, payload, reason] of refusals) {
    it(`refuses ${what} with reason ${code}, a security event and a metric`, async () => {
      const before = await metricValue(h, code);
      assert.equal(await publishQos1(client, 'v1/devices/ox-a/telemetry', payload()), reason);
      const events = await eventsFor(h, code);
      assert.ok(
        events.some((e) => e.deviceId === 'ox-a'),
        `no ${code} event for ox-a`,
      );
      assert.equal(await metricValue(h, code), before + 1);
    });
  }

  it("refuses device A publishing to device B's topic", async () => {
    const code = await publishQos1(client, 'v1/devices/ox-b/telemetry', telemetry(++seq, [HR(70)]));
    assert.equal(code, 0x87);
    assert.ok((await eventsFor(h, 'VIGIL_ERR_MQTT_TOPIC_DENIED')).some((e) => e.deviceId === 'ox-a'));
    const r = await h.api('/api/v1/patients/pat-b/observations');
    assert.deepEqual((r.json as { observations: unknown[] }).observations, []);
  });

  it("refuses a subscription to another device's commands", async () => {
    // mqtt.js 5 reports a SUBACK failure code as an error carrying the packet.
    const refused = await client.subscribeAsync('v1/devices/ox-b/commands', { qos: 1 }).then(
      () => undefined,
      (e: { packet?: { granted?: number[] } }) => e.packet?.granted?.[0],
    );
    assert.equal(refused, 0x87);
    assert.ok((await eventsFor(h, 'VIGIL_ERR_MQTT_TOPIC_DENIED')).some((e) => /subscri/i.test(e.detail)));
  });

  it('refuses a connection without a client certificate', async () => {
    await assert.rejects(
      new Promise((resolve, reject) => {
        const c = mqtt.connect(h.mqttUrl, {
          protocolVersion: 5,
          ca: h.caPem,
          reconnectPeriod: 0,
          connectTimeout: 3000,
        });
        c.once('connect', () => resolve(c.end(true)));
        c.once('error', (e) => reject(c.end(true) && e));
        c.once('close', () => reject(new Error('closed')));
      }),
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.ok((await eventsFor(h, 'VIGIL_ERR_TLS_NO_CERT')).length > 0);
  });

  it('refuses a certificate from another CA', async () => {
    const rogueCa = await createDeviceCa({ organization: 'Rogue' });
    const { keyPkcs8Pem, csrPem } = await createDeviceKeyAndCsr('ox-a');
    const rogue = await signDeviceCsr(rogueCa, csrPem, 'ox-a');
    await assert.rejects(
      h.connect(
        { keyPem: keyPkcs8Pem, certPem: `${rogue.certificatePem}${rogue.chainPem}`, caPem: h.caPem },
        'ox-a',
      ),
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.ok((await eventsFor(h, 'VIGIL_ERR_TLS_BAD_CERT')).length > 0);
  });

  it('refuses a revoked certificate at every connection', async () => {
    const c = await h.enrol('ox-revoked', 'pat-a');
    await h.vigil.devices.revokeCertificates('ox-revoked', 'key compromise');
    await h.vigil.directory.refresh();
    await assert.rejects(h.connect(c, 'ox-revoked'));
    assert.ok((await eventsFor(h, 'VIGIL_ERR_TLS_REVOKED')).some((e) => e.deviceId === 'ox-revoked'));
  });

  it('accepts the same payload over HTTPS with the client certificate, after the commit', async () => {
    const r = await fetchWithCert(h, b, 'ox-b', telemetry(1, [HR(64)]));
    assert.equal(r.status, 201, r.text);
    const obs = await h.api('/api/v1/patients/pat-b/observations?code=8867-4');
    assert.deepEqual(
      (obs.json as { observations: Array<{ value: number }> }).observations.map((o) => o.value),
      [64],
    );
  });

  it('refuses HTTPS telemetry for another device with a problem document', async () => {
    const r = await fetchWithCert(h, b, 'ox-a', telemetry(2, [HR(64)]));
    assert.equal(r.status, 403);
    assert.match(String(r.headers['content-type']), /application\/problem\+json/);
    assert.equal((r.json as { code: string }).code, 'VIGIL_ERR_MQTT_TOPIC_DENIED');
  });

  it('refuses an HTTPS telemetry POST with no body as bad JSON, with its security event', async () => {
    const r = await fetchWithCert(h, b, 'ox-b', undefined);
    assert.equal(r.status, 400, r.text);
    assert.equal((r.json as { code: string }).code, 'VIGIL_ERR_INGEST_BAD_JSON');
    assert.ok((await eventsFor(h, 'VIGIL_ERR_INGEST_BAD_JSON')).some((e) => e.deviceId === 'ox-b'));
  });

  it('refuses HTTPS telemetry without a client certificate', async () => {
    const r = await h.api('/api/v1/devices/ox-a/telemetry', {
      method: 'POST',
      body: JSON.parse(telemetry(3, [HR(60)])),
    });
    assert.equal(r.status, 401);
    assert.equal((r.json as { code: string }).code, 'VIGIL_ERR_TLS_NO_CERT');
  });

  it('disconnects a quarantined device at once and refuses it after', async () => {
    const c = await h.enrol('ox-q', 'pat-a');
    const live = await h.connect(c, 'ox-q');
    const closed = new Promise<void>((r) => live.once('close', () => r()));
    const q = await h.api('/api/v1/devices/ox-q/quarantine', {
      method: 'POST',
      body: { reason: 'suspicious traffic' },
    });
    assert.equal(q.status, 200, q.text);
    await closed;
    live.end(true);
    await assert.rejects(h.connect(c, 'ox-q'));
  });

  it('speaks MQTT 3.1.1 too', async () => {
    const c = await h.enrol('ox-v4', 'pat-a');
    const v4 = await h.connect(c, 'ox-v4', { protocolVersion: 4 });
    assert.equal(await publishQos1(v4, 'v1/devices/ox-v4/telemetry', telemetry(1, [HR(81)])), 0);
    v4.end(true);
    const obs = await h.api('/api/v1/patients/pat-a/observations?code=8867-4');
    assert.ok(
      (obs.json as { observations: Array<{ device: string }> }).observations.some(
        (o) => o.device === 'ox-v4',
      ),
    );
  });

  describe('MQTT protocol refusals, counted apart from payload refusals', () => {
    let proto: EnrolledCredentials;
    before(async () => {
      proto = await h.enrol('ox-proto', 'pat-a');
    });

    type Raw = Awaited<ReturnType<typeof rawDevice>>;
    const TOPIC = 'v1/devices/ox-proto/telemetry';
    const cases: Array<{
      what: string;
      code: string;
      detail: RegExp;
      /** The reason the gateway answers on the wire (CONNACK or DISCONNECT), if it may answer. */
      answer: { cmd: 'connack' | 'disconnect'; reasonCode: number } | undefined;
      act: (raw: Raw) => Promise<void>;
    }> = [
      {
        what: 'a retained PUBLISH',
        code: 'VIGIL_ERR_MQTT_UNSUPPORTED',
        detail: /published with RETAIN/,
        answer: { cmd: 'disconnect', reasonCode: 0x9a },
        act: async (raw) => {
          await raw.connect();
          const payload = Buffer.from(telemetry(1, [HR(70)]));
          raw.send({ cmd: 'publish', topic: TOPIC, payload, qos: 1, messageId: 1, retain: true, dup: false });
        },
      },
      {
        what: 'a will at QoS 2',
        code: 'VIGIL_ERR_MQTT_QOS2',
        detail: /will asks for QoS 2/,
        answer: { cmd: 'connack', reasonCode: 0x9b },
        act: (raw) =>
          raw.connect({ will: { topic: TOPIC, payload: Buffer.from('gone'), qos: 2, retain: false } }),
      },
      {
        what: 'a SUBSCRIBE with no topic filter',
        code: 'VIGIL_ERR_MQTT_PROTOCOL',
        detail: /SUBSCRIBE with no topic filter/,
        answer: { cmd: 'disconnect', reasonCode: 0x82 },
        act: async (raw) => {
          await raw.connect();
          raw.write([0x82, 0x03, 0x00, 0x09, 0x00]); // message id 9, no properties, no filter
        },
      },
      {
        what: 'a malformed packet',
        code: 'VIGIL_ERR_MQTT_PROTOCOL',
        detail: /^malformed MQTT packet/,
        answer: { cmd: 'disconnect', reasonCode: 0x81 },
        act: async (raw) => {
          await raw.connect();
          raw.write([0x36, 0x00]); // PUBLISH at QoS 3, which does not exist (§3.3.1.2)
        },
      },
      {
        what: 'a first packet that is not CONNECT',
        code: 'VIGIL_ERR_MQTT_PROTOCOL',
        detail: /first packet was pingreq, not CONNECT/,
        answer: undefined,
        act: async (raw) => {
          raw.send({ cmd: 'pingreq' });
        },
      },
    ];
    for (const { what, code, detail, answer, act } of cases) {
      it(`refuses ${what} as ${code}, not as a payload of the wrong shape`, async () => {
        const [before, shapeBefore] = [
          await metricValue(h, code),
          await metricValue(h, 'VIGIL_ERR_INGEST_BAD_SHAPE'),
        ];
        const raw = await rawDevice(h, proto);
        await act(raw);
        await raw.closed();
        if (answer === undefined) assert.deepEqual(raw.packets, []);
        else {
          const last = raw.packets.at(-1) as (Packet & { reasonCode?: number }) | undefined;
          assert.deepEqual({ cmd: last?.cmd, reasonCode: last?.reasonCode }, answer);
        }
        const events = await eventsFor(h, code);
        assert.ok(
          events.some((e) => e.deviceId === 'ox-proto' && detail.test(e.detail)),
          `no ${code} event for ox-proto matching ${detail}`,
        );
        assert.equal(await metricValue(h, code), before + 1);
        assert.equal(await metricValue(h, 'VIGIL_ERR_INGEST_BAD_SHAPE'), shapeBefore);
      });
    }
  });
});

function fetchWithCert(h: Harness, creds: EnrolledCredentials, deviceId: string, body: string | undefined) {
  return import('./support/https-client.ts').then(({ httpsRequest }) =>
    httpsRequest(`${h.baseUrl}/api/v1/devices/${deviceId}/telemetry`, {
      method: 'POST',
      ca: h.caPem,
      key: creds.keyPem,
      cert: creds.certPem,
      ...(body === undefined ? {} : { body }),
    }),
  );
}
