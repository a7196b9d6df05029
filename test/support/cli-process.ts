/** The `vigil` CLI as an operator meets it: a real child process per call. */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

/** Runs `vigil <args>` to its end; the log is silenced unless `env` says otherwise. */
export function runVigil(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...CLI, ...args],
      {
        env: { ...process.env, VIGIL_LOG_LEVEL: 'silent', ...opts.env },
        timeout: opts.timeoutMs ?? 60_000,
        maxBuffer: 1 << 26,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** Starts `vigil demo` on free ports and resolves with what it printed once it is ready. */
export async function startDemoProcess(
  dataDir: string,
  opts: { devices: number; rate: number },
): Promise<{ child: ChildProcessWithoutNullStreams; out: string }> {
  const child = spawn(
    process.execPath,
    [...CLI, 'demo', '--devices', String(opts.devices), '--rate', String(opts.rate), '--data-dir', dataDir],
    { env: { ...process.env, VIGIL_HTTP_PORT: '0', VIGIL_MQTT_PORT: '0', VIGIL_LOG_LEVEL: 'silent' } },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('Press Ctrl-C')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`demo exited (${code}) before it was ready:\n${out}`)));
  });
  return { child, out };
}
