import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningGateway, startGateway } from '../src/ingest/mqtt/test-gateway.ts';
import { createTestPki, type TestPki } from '../src/ingest/mqtt/test-pki.ts';
import { Fleet, type SimDevice } from './fleet.ts';

async function until(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The fleet against Vigil's own gateway (real TLS and MQTT, recording hooks in place of the store). */
describe("fleet against Vigil's gateway", () => {
  let pki: TestPki;
  let running: RunningGateway;
  const fleets: Fleet[] = [];
  /** Telemetry the gateway's hooks are holding unanswered. */
  const held: Array<() => void> = [];

  function oximeter(deviceId: string): SimDevice {
    const certs = pki.device(deviceId);
    return {
      deviceId,
      kind: 'pulse-oximeter',
      keyPem: certs.key.toString('utf8'),
      certPem: certs.cert.toString('utf8'),
      caPem: pki.ca.toString('utf8'),
    };
  }

  function fleetOf(device: SimDevice, rate: number, lines: string[] = [], timeCompression = 5): Fleet {
    const fleet = new Fleet({
      mqttUrl: `mqtts://127.0.0.1:${running.port}`,
      devices: [device],
      rate,
      timeCompression,
      log: (line) => lines.push(line),
    });
    fleets.push(fleet);
    return fleet;
  }

  before(async () => {
    pki = createTestPki();
    running = await startGateway(pki, { receiveMaximum: 5 });
  });

  after(async () => {
    running.hooks.beforeTelemetry = async () => {};
    for (const release of held.splice(0)) release();
    await Promise.all(fleets.map((f) => f.stop()));
    await running?.close();
    pki?.remove();
  });

  it('keeps trying after the server refuses its CONNECT, and connects once the refusal ends', async () => {
    // Quarantine (or a store that cannot answer: 0x88 Server unavailable) refuses the CONNACK; a
    // real device keeps retrying with backoff, it does not go silent until someone restarts it.
    running.hooks.quarantined.add('ox-refused');
    const fleet = fleetOf(oximeter('ox-refused'), 5);
    await fleet.start();
    assert.equal(fleet.stats().connected, 0);
    await until(
      'a second refused attempt',
      () => running.hooks.refusalCodes().filter((c) => c === 'VIGIL_ERR_DEVICE_QUARANTINED').length >= 2,
    );
    running.hooks.quarantined.delete('ox-refused');
    await until('the connection after the refusal ended', () => fleet.stats().connected === 1, 15_000);
    await until('stored telemetry', () => fleet.stats().acked >= 1);
    await fleet.stop();
  });

  it('keeps no more uploads in flight than the server receives, when PUBACKs stop coming', async () => {
    // A store that has stalled: nothing is acknowledged. The device must not pile up messages
    // (and mqtt.js ignores the server's Receive Maximum); its readings wait on the device.
    running.hooks.beforeTelemetry = (deviceId) =>
      deviceId === 'ox-stall' ? new Promise<void>((resolve) => held.push(resolve)) : Promise.resolve();
    const fleet = fleetOf(oximeter('ox-stall'), 20);
    await fleet.start();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const stalled = fleet.stats();
    assert.ok(stalled.sent <= 5, `${stalled.sent} messages in flight with Receive Maximum 5`);
    // Once the store answers again, what was measured meanwhile goes out.
    running.hooks.beforeTelemetry = async () => {};
    for (const release of held.splice(0)) release();
    await until('uploads after the stall', () => fleet.stats().acked >= stalled.sent + 3);
    await fleet.stop();
    const after = fleet.stats();
    assert.deepEqual(after.refused, {});
    assert.equal(after.errors, 0);
  });

  it('keeps at most 1,000 readings while it cannot upload, dropping the oldest', async () => {
    // 1000x: an oximeter measures 2,000 readings a second; three seconds refused are 6,000.
    running.hooks.quarantined.add('ox-memory');
    const lines: string[] = [];
    const fleet = fleetOf(oximeter('ox-memory'), 5, lines, 1000);
    await fleet.start();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    running.hooks.quarantined.delete('ox-memory');
    await until('the connection', () => fleet.stats().connected === 1, 15_000);
    const uploads = () =>
      running.hooks.telemetry
        .filter((t) => t.deviceId === 'ox-memory')
        .map((t) => JSON.parse(t.payload.toString('utf8')) as { seq: number; readings: unknown[] });
    await until('the backfill', () => uploads().length > 0);
    await fleet.stop();
    // The backfill is what went out at the connection, before the next tick 200 ms later; seqs
    // follow the wall-clock millisecond, so they lie within a few ms of the first.
    const firstSeq = uploads()[0]?.seq ?? 0;
    const backfillReadings = uploads()
      .filter((m) => m.seq - firstSeq < 50)
      .reduce((n, m) => n + m.readings.length, 0);
    assert.ok(backfillReadings <= 1_100, `${backfillReadings} readings kept while refused`);
    assert.ok(
      lines.some((l) => l.includes('dropping the oldest')),
      lines.join('\n'),
    );
  });

  it('stops within its drain timeout when the server never acknowledges (SIGINT must not hang)', async () => {
    running.hooks.beforeTelemetry = (deviceId) =>
      deviceId === 'ox-unacked' ? new Promise<void>((resolve) => held.push(resolve)) : Promise.resolve();
    const fleet = fleetOf(oximeter('ox-unacked'), 5);
    await fleet.start();
    await until('an upload in flight', () => fleet.stats().sent >= 1);
    const startedMs = Date.now();
    const stopped = await Promise.race([
      fleet.stop().then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000)),
    ]);
    assert.ok(stopped, `stop() still waiting after ${Date.now() - startedMs} ms`);
    assert.equal(fleet.stats().acked, 0);
  });
});
