/**
 * `vigil serve` in a child process, as an operator runs it: the benchmark talks to it only over
 * the network (MQTT for devices, HTTPS for metrics), and its CPU time is measured apart from
 * the load generator's.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from '../bin/node-flags.js';
import { type ManagedChild, spawnManaged } from './cleanup.ts';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

const START_TIMEOUT_MS = 60_000;
const LOG_TAIL_LINES = 20;

export interface VigilChild {
  managed: ManagedChild;
  httpsUrl: string;
  mqttUrl: string;
  caPem: string;
  /** Warnings and errors Vigil logged (pino JSON lines), newest last, at most 20. */
  logTail: string[];
  /** Log lines at warn level or above (and stray stderr output). */
  logCount(): number;
}

export interface ChildOptions {
  dataDir: string;
  /** Extra node flags for the child, e.g. --cpu-prof. */
  nodeArgs?: string[];
  logLevel?: string;
}

export function startVigilChild(opts: ChildOptions): Promise<VigilChild> {
  const managed = spawnManaged(
    'vigil serve',
    process.execPath,
    [...NODE_FLAGS, ...(opts.nodeArgs ?? []), '--import', 'tsx', 'src/cli/main.ts', 'serve', '--json'],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        VIGIL_DATA_DIR: opts.dataDir,
        VIGIL_HTTP_PORT: '0',
        VIGIL_MQTT_PORT: '0',
        VIGIL_HOST: '127.0.0.1',
        VIGIL_LOG_LEVEL: opts.logLevel ?? 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logTail: string[] = [];
  let logLines = 0;
  const keep = (line: string) => {
    const parsed = tryJson(line);
    // pino levels: 40 warn, 50 error, 60 fatal. The signal handler's "stopping…" is not a warning.
    if (parsed ? typeof parsed.level === 'number' && parsed.level < 40 : /^\s*stopping/.test(line)) return;
    logLines += 1;
    logTail.push(line.slice(0, 400));
    if (logTail.length > LOG_TAIL_LINES) logTail.shift();
  };
  return new Promise((resolve, reject) => {
    let buffered = '';
    let ready = false;
    const timer = setTimeout(() => {
      void managed.stop(1000);
      reject(new Error(`vigil serve did not start within ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    managed.child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        const parsed = tryJson(line);
        if (!ready && parsed && typeof parsed.https === 'string' && typeof parsed.mqtt === 'number') {
          ready = true;
          clearTimeout(timer);
          resolve({
            managed,
            httpsUrl: parsed.https,
            mqttUrl: `mqtts://127.0.0.1:${parsed.mqtt}`,
            caPem: readFileSync(join(opts.dataDir, 'ca.crt'), 'utf8'),
            logTail,
            logCount: () => logLines,
          });
        } else {
          keep(line);
        }
      }
    });
    managed.child.stderr?.on('data', (d: Buffer) => {
      for (const line of d.toString('utf8').split('\n')) if (line.trim() !== '') keep(line);
    });
    void managed.exited.then((code) => {
      if (ready) return;
      clearTimeout(timer);
      reject(
        new Error(`vigil serve exited with ${code} before it was ready: ${logTail.slice(-3).join(' | ')}`),
      );
    });
  });
}

function tryJson(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** GET over HTTPS pinned to Vigil's CA, with a bearer token; loopback only. */
export function apiGet(
  baseUrl: string,
  path: string,
  token: string,
  caPem: string,
): Promise<{ status: number; body: string }> {
  const url = new URL(path, baseUrl);
  if (url.hostname !== '127.0.0.1') return Promise.reject(new Error('the benchmark only talks to loopback'));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'GET', ca: caPem, headers: { authorization: `Bearer ${token}` }, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.pathname} within 30 s`)));
    req.on('error', reject);
    req.end();
  });
}
