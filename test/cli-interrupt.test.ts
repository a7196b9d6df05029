/**
 * Ctrl-C (SIGINT) or SIGTERM at any moment of `vigil demo` and `vigil sim`, start-up included:
 * the process stops as it does once running (server and store closed, so no WAL is left; no
 * credentials file cut short; ports released) and exits 0, within seconds.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, isPortFree } from './support/ports.ts';
import { startHarness } from './support/vigil-harness.ts';

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  afterMs: number;
}

interface Spawned {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
}

function spawnVigil(args: string[], env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, [...CLI, ...args], {
    env: { ...process.env, VIGIL_LOG_LEVEL: 'silent', ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, afterMs: Date.now() }));
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Sends `signal` and waits at most `withinMs` for the exit; a process still alive is killed. */
async function interrupt(run: Spawned, signal: NodeJS.Signals, withinMs: number): Promise<Exit> {
  const sentMs = Date.now();
  run.child.kill(signal);
  const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), withinMs).unref());
  const exit = await Promise.race([run.exited, timeout]);
  if (exit === undefined) {
    run.child.kill('SIGKILL');
    await run.exited;
    assert.fail(`still running ${withinMs} ms after ${signal}; stderr:\n${run.stderr()}`);
  }
  return { ...exit, afterMs: exit.afterMs - sentMs };
}

/** Asks `probe` every 50 ms for up to `limitMs`; fails naming `what`, or when the process ended. */
async function waitFor(what: string, run: Spawned, limitMs: number, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!probe()) {
    if (run.child.exitCode !== null || run.child.signalCode !== null)
      assert.fail(`vigil ended before ${what}:\n${run.stdout()}\n${run.stderr()}`);
    if (Date.now() > deadline) {
      run.child.kill('SIGKILL');
      assert.fail(`gave up waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Simulated devices whose credentials are on disk, each file checked to be whole JSON. */
function enrolledSimDevices(dataDir: string): string[] {
  const simDir = join(dataDir, 'sim');
  if (!existsSync(simDir)) return [];
  return readdirSync(simDir).filter((id) => existsSync(join(simDir, id, 'credentials.json')));
}

function assertCredentialsWhole(dataDir: string): void {
  for (const id of enrolledSimDevices(dataDir)) {
    const text = readFileSync(join(dataDir, 'sim', id, 'credentials.json'), 'utf8');
    const creds = JSON.parse(text) as Record<string, unknown>;
    assert.equal(typeof creds.certPem, 'string', `${id}: credentials are whole`);
  }
}

function assertCleanStop(exit: Exit, run: Spawned): void {
  assert.deepEqual(
    { code: exit.code, signal: exit.signal },
    { code: 0, signal: null },
    `a stop on request exits 0 (not killed by the signal); stderr:\n${run.stderr()}`,
  );
  assert.match(run.stderr(), /stopping/);
  assert.doesNotMatch(run.stderr(), /\n\s+at /, 'no stack trace');
  assert.doesNotMatch(run.stdout(), /Press Ctrl-C/, 'start-up was cut short, not finished');
}

describe('vigil interrupted while it starts', { timeout: 240_000 }, () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('demo: SIGINT while devices enrol closes the server and the store and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-interrupt-demo-'));
    dirs.push(dir);
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    // Many devices, so the enrolment of all of them lasts well past the signal.
    const run = spawnVigil(['demo', '--devices', '400', '--rate', '0.2', '--data-dir', dir], {
      VIGIL_HTTP_PORT: String(httpPort),
      VIGIL_MQTT_PORT: String(mqttPort),
    });
    await waitFor(
      'the first simulated device to enrol',
      run,
      150_000,
      () => enrolledSimDevices(dir).length > 0,
    );

    const exit = await interrupt(run, 'SIGINT', 10_000);

    assertCleanStop(exit, run);
    assert.ok(enrolledSimDevices(dir).length < 400, 'the signal came while devices were enrolling');
    assertCredentialsWhole(dir);
    const wal = join(dir, 'vigil.db-wal');
    assert.ok(!existsSync(wal) || statSync(wal).size === 0, 'the store was closed (its WAL checkpointed)');
    assert.ok(await isPortFree(httpPort), 'the HTTPS port is released');
    assert.ok(await isPortFree(mqttPort), 'the MQTT port is released');
  });

  it('sim: SIGTERM while the fleet makes its first connections exits 0 at once', async () => {
    const harness = await startHarness();
    try {
      // At 0.001 uploads/s the fleet spreads its first connections over 5 s.
      const run = spawnVigil(['sim', '--devices', '8', '--rate', '0.001', '--data-dir', harness.dataDir], {
        VIGIL_HTTP_PORT: String(harness.vigil.httpPort),
        VIGIL_MQTT_PORT: String(harness.vigil.mqttPort),
      });
      await waitFor(
        'all 8 devices to enrol',
        run,
        60_000,
        () => enrolledSimDevices(harness.dataDir).length === 8,
      );

      const exit = await interrupt(run, 'SIGTERM', 10_000);

      assertCleanStop(exit, run);
      assert.ok(
        exit.afterMs < 4_000,
        `stopped ${exit.afterMs} ms after the signal, not after the 5 s spread`,
      );
      assertCredentialsWhole(harness.dataDir);
    } finally {
      await harness.stop();
    }
  });
});
