import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type Socket, connect as tcpConnect } from 'node:net';
import { after, describe, it } from 'node:test';
import { asDeviceId } from '../../errors/ids.ts';
import {
  connectDevice,
  endClient,
  type RunningGateway,
  sleep,
  startGateway,
  waitFor,
} from './test-gateway.ts';
import { createTestPki, type TestPki } from './test-pki.ts';

/** A TCP connection that never starts its TLS handshake: held until the handshake timeout. */
async function silentConnection(port: number): Promise<Socket> {
  const socket = tcpConnect(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

const wasClosedSoon = async (socket: Socket) => {
  if (socket.destroyed || socket.readableEnded) return true;
  const closed = once(socket, 'close').then(() => true);
  return Promise.race([closed, sleep(1000).then(() => false)]);
};

describe('MQTT gateway connection caps', () => {
  const pki: TestPki = createTestPki();
  const opened: Socket[] = [];
  const running: RunningGateway[] = [];
  after(async () => {
    for (const s of opened) s.destroy();
    for (const r of running) await r.close();
    pki.remove();
  });

  it('closes a connection from an address with too many not yet past CONNECT, and records it', async () => {
    const gw = await startGateway(pki, { maxPendingPerAddress: 3 });
    running.push(gw);
    for (let i = 0; i < 3; i++) opened.push(await silentConnection(gw.port));
    const fourth = await silentConnection(gw.port);
    opened.push(fourth);
    assert.ok(await wasClosedSoon(fourth), 'the fourth pending connection is closed');
    await waitFor('refusal', () => gw.hooks.refusalCodes().includes('VIGIL_ERR_MQTT_TOO_MANY_CONNECTIONS'));
    assert.equal(
      gw.hooks.refusals.find((r) => r.code === 'VIGIL_ERR_MQTT_TOO_MANY_CONNECTIONS')?.remoteAddress,
      '127.0.0.1',
    );
    assert.ok(
      !gw.hooks.refusalCodes().includes('VIGIL_ERR_TLS_BAD_CERT'),
      'not reported as a bad certificate',
    );
  });

  it('counts only connections that have not completed CONNECT', async () => {
    const gw = await startGateway(pki, { maxPendingPerAddress: 2 });
    running.push(gw);
    const clients = [];
    for (let i = 0; i < 4; i++) {
      const id = asDeviceId(`cap-${i}`);
      clients.push(await connectDevice(gw.port, pki, pki.device(id)));
    }
    assert.equal(gw.gateway.connectedCount(), 4);
    const pending = await silentConnection(gw.port);
    opened.push(pending);
    assert.ok(!(await wasClosedSoon(pending)), 'connected devices leave room for new ones');
    for (const c of clients) await endClient(c);
  });

  it('closes connections over the total cap, and records them', async () => {
    const gw = await startGateway(pki, { maxConnections: 2 });
    running.push(gw);
    for (let i = 0; i < 2; i++) opened.push(await silentConnection(gw.port));
    const third = await silentConnection(gw.port);
    opened.push(third);
    assert.ok(await wasClosedSoon(third), 'the third connection is closed');
    await waitFor('refusal', () => gw.hooks.refusalCodes().includes('VIGIL_ERR_MQTT_TOO_MANY_CONNECTIONS'));
  });
});
