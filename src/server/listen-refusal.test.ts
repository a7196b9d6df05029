import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { isVigilError } from '../errors/catalogue.ts';
import { listenOrExplain } from './listen-refusal.ts';

const listenOn = (port: number) =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });

describe('a listen refused', () => {
  it('names the port, the listener and the settings that move it when the address is in use', async () => {
    const held = createServer();
    await new Promise<void>((r) => held.listen(0, '127.0.0.1', r));
    const port = (held.address() as { port: number }).port;
    try {
      await assert.rejects(
        listenOrExplain(() => listenOn(port), { listener: 'MQTT', port, host: '127.0.0.1' }),
        (e) =>
          isVigilError(e) &&
          e.code === 'VIGIL_ERR_PORT_IN_USE' &&
          e.detail ===
            `port ${port} (MQTT) on 127.0.0.1 is in use by another program; stop it, or set VIGIL_MQTT_PORT / --mqtt-port`,
      );
    } finally {
      held.close();
    }
  });

  it('passes any other failure on as it was, and a success through', async () => {
    const other = Object.assign(new Error('listen EACCES'), { code: 'EACCES' });
    await assert.rejects(
      listenOrExplain(() => Promise.reject(other), { listener: 'HTTPS', port: 443, host: '0.0.0.0' }),
      (e) => e === other,
    );
    assert.equal(
      await listenOrExplain(() => Promise.resolve(7), { listener: 'HTTPS', port: 0, host: '::1' }),
      7,
    );
  });
});
