import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectAsync, type MqttClient } from 'mqtt';
import { Fleet, type FleetOptions, type FleetStats, type SimDevice } from './fleet.ts';
import type { DeviceKind } from './signals/types.ts';
import { makeTestPki, startTestBroker, type TestBroker, type TestPki } from './test-broker.ts';

const SERVER_USER = 'vigil-server';

interface Telemetry {
  seq: number;
  ts: string;
  readings: { code: string; value: number; unit: string; ts?: string }[];
}

/** Vigil's side of the wire, played by a client that may read every device topic. */
class Observer {
  readonly telemetry = new Map<string, Telemetry[]>();
  readonly status = new Map<string, Record<string, unknown>[]>();
  constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      const [, , deviceId, kind] = topic.split('/');
      const body: unknown = JSON.parse(payload.toString('utf8'));
      if (deviceId === undefined) return;
      if (kind === 'telemetry') push(this.telemetry, deviceId, body as Telemetry);
      if (kind === 'status') push(this.status, deviceId, body as Record<string, unknown>);
    });
  }
  seqs(deviceId: string): number[] {
    return (this.telemetry.get(deviceId) ?? []).map((t) => t.seq);
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  map.set(key, [...(map.get(key) ?? []), value]);
}

async function until(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function isStrictlyIncreasing(xs: readonly number[]): boolean {
  return xs.every((x, i) => i === 0 || x > (xs[i - 1] ?? Number.POSITIVE_INFINITY));
}

describe('fleet over MQTT 5 with mutual TLS (real Mosquitto)', () => {
  let pki: TestPki;
  let broker: TestBroker;
  let observer: Observer;
  const fleets: Fleet[] = [];

  async function device(deviceId: string, kind: DeviceKind, certCn = deviceId): Promise<SimDevice> {
    const { keyPem, certPem } = await pki.issue(certCn);
    return { deviceId, kind, keyPem, certPem, caPem: pki.caPem };
  }

  async function startFleet(
    options: Omit<FleetOptions, 'mqttUrl'>,
  ): Promise<{ fleet: Fleet; lines: string[] }> {
    const lines: string[] = [];
    const fleet = new Fleet({ mqttUrl: broker.url, log: (line) => lines.push(line), ...options });
    fleets.push(fleet);
    await fleet.start();
    return { fleet, lines };
  }

  before(async () => {
    pki = await makeTestPki();
    broker = await startTestBroker(pki, SERVER_USER);
    const server = await pki.issue(SERVER_USER);
    const client = await connectAsync(broker.url, {
      protocolVersion: 5,
      clientId: SERVER_USER,
      key: server.keyPem,
      cert: server.certPem,
      ca: pki.caPem,
      rejectUnauthorized: true,
      reconnectPeriod: 200,
    });
    await client.subscribeAsync(['v1/devices/+/telemetry', 'v1/devices/+/status'], { qos: 1 });
    observer = new Observer(client);
  });

  after(async () => {
    await Promise.all(fleets.map((f) => f.stop()));
    await observer?.client.endAsync(true);
    await broker?.stop();
    await pki?.cleanup();
  });

  describe('two oximeters uploading until 10 PUBACKs', () => {
    let stats: FleetStats;
    let startMs: number;
    let connectedAfterStart: number;

    before(async () => {
      startMs = Date.now();
      const devices = [await device('ox-1', 'pulse-oximeter'), await device('ox-2', 'pulse-oximeter')];
      const { fleet } = await startFleet({ devices, rate: 5, timeCompression: 5, seed: 7 });
      connectedAfterStart = fleet.stats().connected;
      await until('10 acknowledged messages', () => fleet.stats().acked >= 10);
      await fleet.stop();
      stats = fleet.stats();
    });

    it('connects each device with its own certificate', () => {
      assert.equal(connectedAfterStart, 2);
      assert.equal(stats.errors, 0);
    });

    it('counts a PUBACK for every QoS 1 message, and stop() waits for the outstanding ones', () => {
      assert.deepEqual(stats.refused, {});
      assert.equal(stats.acked, stats.sent);
      assert.equal(stats.connected, 0);
      // An oximeter measures HR and SpO2 each simulated second; 5x compression at 5 ticks/s: one of each.
      assert.ok(stats.readings >= 2 * stats.acked, `readings ${stats.readings}, acked ${stats.acked}`);
    });

    it('numbers messages with strictly increasing seqs that start from the wall clock', () => {
      for (const id of ['ox-1', 'ox-2']) {
        const seqs = observer.seqs(id);
        assert.ok(seqs.length >= 3, `${id}: ${seqs.length} messages reached the broker`);
        assert.ok(isStrictlyIncreasing(seqs), `${id}: seqs ${seqs}`);
        assert.ok((seqs[0] ?? 0) >= startMs, 'a restarted simulator must not look like a replay');
      }
    });

    it('sends telemetry in the protocol shape, stamped in wall-clock time', () => {
      const messages = observer.telemetry.get('ox-1') ?? [];
      assert.ok(messages.length > 0);
      for (const message of messages) {
        const sentMs = Date.parse(message.ts);
        assert.ok(sentMs >= startMs && sentMs <= Date.now(), `message ts ${message.ts}`);
        assert.ok(message.readings.length > 0);
        for (const r of message.readings) {
          assert.ok(['8867-4', '59408-5'].includes(r.code));
          assert.equal(r.unit, r.code === '8867-4' ? '/min' : '%');
          assert.ok(Date.parse(r.ts ?? '') <= sentMs, 'a reading is not measured after it is sent');
        }
      }
    });

    it('reports status with battery, firmware and uptime when it connects', () => {
      const status = observer.status.get('ox-1')?.[0];
      assert.ok(status !== undefined);
      assert.deepEqual(Object.keys(status).sort(), ['battery', 'firmware', 'ts', 'uptime']);
      assert.ok(typeof status.battery === 'number' && status.battery >= 5 && status.battery <= 100);
      assert.equal(typeof status.firmware, 'string');
    });
  });

  it('receives commands on its own topic', async () => {
    const { fleet, lines } = await startFleet({ devices: [await device('cuff-1', 'bp-cuff')], rate: 1 });
    // The subscription is sent right after CONNACK; give it a moment to be granted.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await observer.client.publishAsync('v1/devices/cuff-1/commands', '{"type":"ping"}', { qos: 1 });
    await until('the command to arrive', () =>
      lines.some((l) => l.includes('command') && l.includes('ping')),
    );
    await fleet.stop();
  });

  it('counts a refused publish by its PUBACK reason code', async () => {
    // The certificate says "intruder", the topics say "ox-9": the broker's ACL refuses them.
    const rogue = await device('ox-9', 'pulse-oximeter', 'intruder');
    const { fleet } = await startFleet({ devices: [rogue], rate: 5, timeCompression: 5 });
    await until('refusals', () => (fleet.stats().refused['0x87 Not authorized'] ?? 0) >= 3);
    await fleet.stop();
    const stats = fleet.stats();
    assert.equal(stats.acked, 0);
    assert.equal(stats.readings, 0);
    assert.equal(observer.seqs('ox-9').length, 0);
  });

  it('also speaks MQTT 3.1.1', async () => {
    const devices = [await device('therm-1', 'thermometer')];
    const { fleet } = await startFleet({ devices, rate: 5, timeCompression: 60, protocolVersion: 4 });
    await until('acknowledged messages', () => fleet.stats().acked >= 3);
    await fleet.stop();
    assert.equal(fleet.stats().errors, 0);
  });

  it('is refused at the TLS handshake with a certificate from another CA, and counts the error', async () => {
    const { keyPem, certPem } = await pki.issueUntrusted('ox-5');
    const devices: SimDevice[] = [
      { deviceId: 'ox-5', kind: 'pulse-oximeter', keyPem, certPem, caPem: pki.caPem },
    ];
    const { fleet, lines } = await startFleet({ devices, rate: 1 });
    const stats = fleet.stats();
    await fleet.stop();
    assert.equal(stats.connected, 0);
    assert.ok(stats.errors >= 1, lines.join('\n'));
    assert.equal(stats.sent, 0);
  });

  it('reconnects after a broker restart and keeps seq increasing', async () => {
    const devices = [await device('ox-3', 'pulse-oximeter')];
    const { fleet } = await startFleet({ devices, rate: 5, timeCompression: 5 });
    await until('first acknowledgements', () => fleet.stats().acked >= 3);
    await broker.stop();
    await until('the disconnection', () => fleet.stats().connected === 0);
    const ackedBefore = fleet.stats().acked;
    await broker.restart();
    await until('the reconnection', () => fleet.stats().connected === 1, 15_000);
    await until('acknowledgements after the restart', () => fleet.stats().acked >= ackedBefore + 3);
    await until('the observer to see them', () => observer.seqs('ox-3').length >= 6);
    await fleet.stop();
    assert.ok(isStrictlyIncreasing(observer.seqs('ox-3')), `seqs ${observer.seqs('ox-3')}`);
  });
});

describe('fleet options', () => {
  const device: SimDevice = { deviceId: 'd1', kind: 'cgm', keyPem: '', certPem: '', caPem: '' };

  it('refuses a plain mqtt:// URL', () => {
    assert.throws(
      () => new Fleet({ mqttUrl: 'mqtt://127.0.0.1:1883', devices: [device], rate: 1 }),
      /mqtts:\/\//,
    );
  });

  it('refuses a rate that is not a positive number', () => {
    for (const rate of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => new Fleet({ mqttUrl: 'mqtts://127.0.0.1:8883', devices: [device], rate }), /rate/);
    }
  });

  it('refuses two devices with the same id', () => {
    assert.throws(
      () => new Fleet({ mqttUrl: 'mqtts://127.0.0.1:8883', devices: [device, device], rate: 1 }),
      /appears twice/,
    );
  });
});
