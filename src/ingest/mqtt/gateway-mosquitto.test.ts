/**
 * Interoperability with a client the gateway's authors did not write: Debian's mosquitto
 * clients (libmosquitto), over MQTT 5 and 3.1.1.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { asDeviceId } from '../../errors/ids.ts';
import { type RunningGateway, startGateway, telemetryPayload, waitFor } from './test-gateway.ts';
import { type CertFiles, createTestPki, type TestPki } from './test-pki.ts';

const DEV = asDeviceId('thermometer-9');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: string[], timeoutMs = 10_000): { done: Promise<Run>; kill(): void } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<Run>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { done, kill: () => child.kill('SIGKILL') };
}

function tlsArgs(pki: TestPki, certs: CertFiles, port: number, version: 'mqttv5' | 'mqttv311'): string[] {
  return [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '--cafile',
    pki.caFile,
    '--cert',
    certs.certFile,
    '--key',
    certs.keyFile,
    '-V',
    version,
    '-i',
    DEV,
  ];
}

describe('MQTT gateway with mosquitto clients', () => {
  let pki: TestPki;
  let running: RunningGateway;
  let certs: CertFiles;

  before(async () => {
    pki = createTestPki();
    certs = pki.device(DEV);
    running = await startGateway(pki);
  });
  after(async () => {
    await running.close();
    pki.remove();
  });

  for (const version of ['mqttv5', 'mqttv311'] as const) {
    it(`stores a QoS 1 reading from mosquitto_pub -V ${version}`, async () => {
      const reading = telemetryPayload(version === 'mqttv5' ? 5 : 311);
      const pub = run('mosquitto_pub', [
        ...tlsArgs(pki, certs, running.port, version),
        '-q',
        '1',
        '-t',
        `v1/devices/${DEV}/telemetry`,
        '-m',
        reading,
      ]);
      const result = await pub.done;
      assert.equal(result.code, 0, result.stderr);
      assert.ok(running.hooks.telemetry.some((t) => t.deviceId === DEV && t.payload.toString() === reading));
    });

    it(`delivers a command to mosquitto_sub -V ${version}`, async () => {
      const sub = run('mosquitto_sub', [
        ...tlsArgs(pki, certs, running.port, version),
        '-q',
        '1',
        '-C',
        '1',
        '-t',
        `v1/devices/${DEV}/commands`,
      ]);
      const command = '{"type":"set-interval","seconds":60}';
      // publishToDevice answers false until the subscription is in place.
      await waitFor('mosquitto_sub subscription', () => running.gateway.publishToDevice(DEV, command));
      const result = await sub.done;
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), command);
    });
  }

  it('tells mosquitto_pub -V mqttv5 why a publish outside its topics was refused', async () => {
    const result = await run('mosquitto_pub', [
      ...tlsArgs(pki, certs, running.port, 'mqttv5'),
      '-q',
      '1',
      '-t',
      'v1/devices/another-device/telemetry',
      '-m',
      telemetryPayload(1),
    ]).done;
    assert.match(result.stderr, /Publish 1 failed: Not authorized/);
    assert.match(result.stderr, /VIGIL_ERR_MQTT_TOPIC_DENIED/, 'the reason string reaches the device');
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_TOPIC_DENIED');
  });

  it('drops mosquitto_pub -V mqttv311 publishing outside its topics', async () => {
    const result = await run('mosquitto_pub', [
      ...tlsArgs(pki, certs, running.port, 'mqttv311'),
      '-q',
      '1',
      '-t',
      'v1/devices/another-device/telemetry',
      '-m',
      telemetryPayload(1),
    ]).done;
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /connection was lost/i);
    assert.equal(running.hooks.refusals.at(-1)?.code, 'VIGIL_ERR_MQTT_TOPIC_DENIED');
  });
});
