/**
 * Everything the benchmark starts registers how to stop it here: child processes, temp dirs,
 * MQTT clients. Cleanups run last-in first-out, once, on success, on failure and on Ctrl-C.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Cleanup = { name: string; run: () => void | Promise<void> };

const stack: Cleanup[] = [];
let running: Promise<void> | undefined;

/** Registers a cleanup; the returned function runs it early and removes it from the stack. */
export function onCleanup(name: string, run: () => void | Promise<void>): () => Promise<void> {
  const entry: Cleanup = { name, run };
  stack.push(entry);
  return async () => {
    const i = stack.indexOf(entry);
    if (i < 0) return;
    stack.splice(i, 1);
    await entry.run();
  };
}

/** Runs every registered cleanup (newest first); errors are reported, never thrown. */
export function cleanupAll(): Promise<void> {
  running ??= (async () => {
    while (stack.length > 0) {
      const entry = stack.pop();
      if (!entry) break;
      try {
        await entry.run();
      } catch (e) {
        process.stderr.write(`bench: cleanup "${entry.name}" failed: ${(e as Error).message}\n`);
      }
    }
  })();
  return running;
}

/** Ctrl-C or SIGTERM: stop everything, then exit 130; a second signal exits at once. */
export function cleanupOnSignals(): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write(`\nbench: ${signal}, stopping everything it started…\n`);
    void cleanupAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** A fresh temp dir that is removed at cleanup. */
export function tempDir(prefix: string): { path: string; remove: () => Promise<void> } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  const remove = onCleanup(`remove ${path}`, () => rmSync(path, { recursive: true, force: true }));
  return { path, remove };
}

export interface ManagedChild {
  child: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after graceMs; resolves with the exit code (null if killed). */
  stop(graceMs?: number): Promise<number | null>;
}

/** Spawns a child process that cleanup stops (SIGTERM, then SIGKILL) if it is still running. */
export function spawnManaged(
  name: string,
  command: string,
  args: string[],
  opts: SpawnOptions,
): ManagedChild {
  const child = spawn(command, args, opts);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  const pid = child.pid;
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    });
    child.once('error', () => {
      exitCode = null;
      resolve(null);
    });
  });
  const stopNow = async (graceMs = 15_000): Promise<number | null> => {
    if (exitCode !== undefined) return exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  const remove = onCleanup(`stop ${name} (pid ${pid})`, () => stopNow(3000).then(() => undefined));
  return {
    child,
    pid,
    exited,
    stop: async (graceMs) => {
      const code = await stopNow(graceMs);
      await remove();
      return code;
    },
  };
}
