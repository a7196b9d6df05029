/** `vigil serve` and `vigil demo` when another program holds one of their ports. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CliRun, runVigil } from './support/cli-process.ts';

/** Start-up to the listen, under a loaded test run; the process ends by itself well before. */
const START_UP_MS = 120_000;

/** Another program on a port of 127.0.0.1. */
function holdPort(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
    });
  });
}

function assertOneLine(r: CliRun, line: string): void {
  assert.notEqual(r.code, 0, `expected a non-zero exit; stdout=${r.stdout}`);
  assert.equal(r.stderr, `${line}\n`);
}

describe('a port in use', () => {
  let root: string;
  let dataDir: string;
  let held: { server: Server; port: number };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'vigil-port-'));
    dataDir = join(root, 'data');
    assert.equal((await runVigil(['init', '--data-dir', dataDir])).code, 0);
    held = await holdPort();
  });
  after(async () => {
    await new Promise((r) => held.server.close(r));
    rmSync(root, { recursive: true, force: true });
  });

  it('stops serve with one line naming the HTTPS port and how to move it, the store closed', async () => {
    const r = await runVigil(
      ['serve', '--data-dir', dataDir, '--http-port', String(held.port), '--mqtt-port', '0'],
      { env: { VIGIL_LOG_LEVEL: 'info' }, timeoutMs: START_UP_MS },
    );
    assertOneLine(
      r,
      `vigil: port ${held.port} (HTTPS) on 127.0.0.1 is in use by another program; stop it, or set VIGIL_HTTP_PORT / --http-port`,
    );
    // Closed, not dropped at exit: SQLite removes the WAL when the last connection closes.
    assert.equal(existsSync(join(dataDir, 'vigil.db-wal')), false, 'the store was closed');
  });

  it('names the MQTT port and its setting, with no "server error" log line besides', async () => {
    const r = await runVigil(
      ['serve', '--data-dir', dataDir, '--http-port', '0', '--mqtt-port', String(held.port)],
      { env: { VIGIL_LOG_LEVEL: 'info' }, timeoutMs: START_UP_MS },
    );
    assertOneLine(
      r,
      `vigil: port ${held.port} (MQTT) on 127.0.0.1 is in use by another program; stop it, or set VIGIL_MQTT_PORT / --mqtt-port`,
    );
    assert.doesNotMatch(r.stdout, /EADDRINUSE|server error/);
    assert.equal(existsSync(join(dataDir, 'vigil.db-wal')), false, 'the store was closed');
  });

  it('takes --http-port and --mqtt-port in demo too', async () => {
    const help = await runVigil(['demo', '--help']);
    assert.match(help.stdout, /--http-port <port>/);
    assert.match(help.stdout, /--mqtt-port <port>/);
    // Were the flags ignored, the demo would listen on 8443 and 8883 and not stop by itself.
    const demo = (http: number, mqtt: number) =>
      runVigil(
        [
          'demo',
          '--data-dir',
          dataDir,
          '--devices',
          '1',
          '--http-port',
          String(http),
          '--mqtt-port',
          String(mqtt),
        ],
        { timeoutMs: START_UP_MS },
      );
    assertOneLine(
      await demo(held.port, 0),
      `vigil: port ${held.port} (HTTPS) on 127.0.0.1 is in use by another program; stop it, or set VIGIL_HTTP_PORT / --http-port`,
    );
    assertOneLine(
      await demo(0, held.port),
      `vigil: port ${held.port} (MQTT) on 127.0.0.1 is in use by another program; stop it, or set VIGIL_MQTT_PORT / --mqtt-port`,
    );
  });
});
