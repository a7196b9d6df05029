/**
 * A device or scanner refused over and over must not fill the disk with log lines: the gateway
 * logs the first refusals of each code in a minute and then one line saying how many more,
 * while every refusal still reaches the security hook (and so /metrics and the events).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { asDeviceId } from '../../errors/ids.ts';
import { MqttGateway } from './gateway.ts';
import { RawDevice, RecordingHooks, waitFor } from './test-gateway.ts';
import { createTestPki, type TestPki } from './test-pki.ts';

const DEV = asDeviceId('noisy-1');

describe('MQTT gateway under a flood of refusals', () => {
  let pki: TestPki;
  let gateway: MqttGateway;
  let port: number;
  const hooks = new RecordingHooks();
  const lines: Array<Record<string, unknown>> = [];
  const linesWith = (msg: string) => lines.filter((l) => l.msg === msg);

  before(async () => {
    pki = createTestPki();
    gateway = new MqttGateway({
      tls: { key: pki.server.key, cert: pki.server.cert, ca: pki.ca },
      hooks,
      log: pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) }),
    });
    port = await gateway.listen(0, '127.0.0.1');
  });
  after(() => pki.remove());

  it('logs twenty refusals of one code a minute, and their closes, then counts the rest', async () => {
    for (let i = 0; i < 45; i++) {
      const raw = await RawDevice.open(port, pki, pki.device(DEV));
      raw.socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      await raw.closed;
    }
    await waitFor('every refusal', () => hooks.refusals.length === 45);
    assert.ok(hooks.refusalCodes().every((c) => c === 'VIGIL_ERR_MQTT_PROTOCOL'));
    assert.equal(linesWith('refused').length, 20);
    assert.equal(linesWith('connection closed').length, 20, 'an unlogged refusal leaves no close line');
  });

  it('says how many it left out, at the latest when it stops', async () => {
    await gateway.close();
    const summary = lines.find((l) => l.key === 'VIGIL_ERR_MQTT_PROTOCOL');
    assert.equal(summary?.suppressed, 25);
    assert.match(String(summary?.msg), /MQTT refusals: 25 more like this not logged/);
  });
});
