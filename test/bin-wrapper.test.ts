/**
 * bin/vigil.js, the `vigil` command installed by npm and run by `npm start`: it starts the
 * TypeScript CLI with Vigil's V8 flags (bin/node-flags.js). A flag this Node does not accept
 * would stop every command before it began.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NODE_FLAGS } from '../bin/node-flags.js';
import { freePort, isPortFree } from './support/ports.ts';

describe('bin/vigil.js', () => {
  it('runs the CLI with the V8 flags, passing its arguments and exit code through', () => {
    const help = spawnSync(process.execPath, ['bin/vigil.js', '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /Usage: vigil/);
    const bad = spawnSync(process.execPath, ['bin/vigil.js', '--no-such-flag'], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /no-such-flag/);
  });

  it('prints the release package.json names for --version', () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const out = spawnSync(process.execPath, ['bin/vigil.js', '--version'], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stdout.trim(), version);
  });

  it('uses only flags this Node accepts', () => {
    const probe = spawnSync(process.execPath, [...NODE_FLAGS, '-e', ''], { encoding: 'utf8' });
    assert.equal(probe.status, 0, probe.stderr);
    assert.ok(NODE_FLAGS.length > 0);
  });
});

interface Served {
  wrapper: ChildProcess;
  httpPort: number;
  mqttPort: number;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

describe('bin/vigil.js passes stop signals on to the CLI', { timeout: 120_000 }, () => {
  let dataDir: string;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-bin-signals-'));
    const init = spawnSync(process.execPath, ['bin/vigil.js', 'init', '--data-dir', dataDir, '--json'], {
      encoding: 'utf8',
    });
    assert.equal(init.status, 0, init.stderr);
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  /** `vigil serve` through the wrapper, in a process group of its own as a shell would start it. */
  async function serve(): Promise<Served> {
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const wrapper = spawn(process.execPath, ['bin/vigil.js', 'serve', '--data-dir', dataDir], {
      env: {
        ...process.env,
        VIGIL_LOG_LEVEL: 'silent',
        VIGIL_HTTP_PORT: String(httpPort),
        VIGIL_MQTT_PORT: String(mqttPort),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let err = '';
    wrapper.stderr?.on('data', (b: Buffer) => {
      err += b.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      wrapper.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const deadline = Date.now() + 60_000;
    while ((await isPortFree(httpPort)) || (await isPortFree(mqttPort))) {
      if (wrapper.exitCode !== null || Date.now() > deadline) assert.fail(`serve did not start:\n${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { wrapper, httpPort, mqttPort, stderr: () => err, exited };
  }

  async function assertStoppedCleanly(served: Served): Promise<void> {
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000).unref());
    try {
      const exit = await Promise.race([served.exited, timeout]);
      assert.notEqual(exit, 'timeout', 'the wrapper exits');
      assert.deepEqual(exit, { code: 0, signal: null }, served.stderr());
      assert.match(served.stderr(), /stopping/);
      assert.ok(await isPortFree(served.httpPort), 'the server stopped: its HTTPS port is free');
      assert.ok(await isPortFree(served.mqttPort), 'the server stopped: its MQTT port is free');
    } finally {
      // A server left behind (the failure this guards against) would hold the test's pipe open.
      try {
        process.kill(-(served.wrapper.pid as number), 'SIGKILL');
      } catch {
        // The group is gone: nothing was left.
      }
    }
  }

  it("stops the server on a supervisor's SIGTERM to the wrapper alone", async () => {
    const served = await serve();
    served.wrapper.kill('SIGTERM');
    await assertStoppedCleanly(served);
  });

  it("stops the server cleanly on a terminal's Ctrl-C (SIGINT to the whole process group)", async () => {
    const served = await serve();
    process.kill(-(served.wrapper.pid as number), 'SIGINT');
    await assertStoppedCleanly(served);
  });
});
