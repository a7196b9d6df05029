/**
 * Test support, not a test: a throwaway PKI made with openssl and a real Mosquitto with
 * mutual TLS on a free port, so the fleet is tested against a real broker (STYLE.md §12).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const MOSQUITTO = '/usr/sbin/mosquitto';

export interface Credentials {
  keyPem: string;
  certPem: string;
}

export interface TestPki {
  dir: string;
  caPem: string;
  /** Key and certificate with subject CN = the given name, issued by the test CA. */
  issue(commonName: string): Promise<Credentials>;
  /** A self-signed client certificate from no CA the broker trusts. */
  issueUntrusted(commonName: string): Promise<Credentials>;
  cleanup(): Promise<void>;
}

/** P-256 everywhere, as Vigil's own device CA uses; one-day validity is plenty for a test. */
export async function makeTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-sim-pki-'));
  const path = (name: string) => join(dir, name);
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...newKey,
    '-keyout',
    path('ca.key'),
    '-out',
    path('ca.crt'),
    '-days',
    '1',
    '-subj',
    '/CN=Vigil Sim Test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);

  async function issueSigned(name: string, commonName: string, extensions: string): Promise<Credentials> {
    await run('openssl', [
      'req',
      ...newKey,
      '-keyout',
      path(`${name}.key`),
      '-out',
      path(`${name}.csr`),
      '-subj',
      `/CN=${commonName}`,
    ]);
    await writeFile(path(`${name}.ext`), extensions);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      path(`${name}.csr`),
      '-CA',
      path('ca.crt'),
      '-CAkey',
      path('ca.key'),
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      '1',
      '-extfile',
      path(`${name}.ext`),
      '-out',
      path(`${name}.crt`),
    ]);
    return {
      keyPem: await readFile(path(`${name}.key`), 'utf8'),
      certPem: await readFile(path(`${name}.crt`), 'utf8'),
    };
  }

  await issueSigned(
    'server',
    'localhost',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  return {
    dir,
    caPem: await readFile(path('ca.crt'), 'utf8'),
    issue: (commonName) => issueSigned(`client-${commonName}`, commonName, 'extendedKeyUsage=clientAuth\n'),
    async issueUntrusted(commonName) {
      const name = `untrusted-${commonName}`;
      await run('openssl', [
        'req',
        '-x509',
        ...newKey,
        '-keyout',
        path(`${name}.key`),
        '-out',
        path(`${name}.crt`),
        '-days',
        '1',
        '-subj',
        `/CN=${commonName}`,
      ]);
      return {
        keyPem: await readFile(path(`${name}.key`), 'utf8'),
        certPem: await readFile(path(`${name}.crt`), 'utf8'),
      };
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface TestBroker {
  port: number;
  url: string;
  /** Starts Mosquitto again on the same port (after stop), as a broker restart. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Mosquitto with the device protocol's rules: a client certificate is required, its CN
 * becomes the username, and the ACL lets a device write only its own telemetry and status
 * and read only its own commands. `serverUser` may read and write every device topic.
 */
export async function startTestBroker(pki: TestPki, serverUser: string): Promise<TestBroker> {
  const port = await freePort();
  const acl = [
    'pattern write v1/devices/%u/telemetry',
    'pattern write v1/devices/%u/status',
    'pattern read v1/devices/%u/commands',
    '',
    `user ${serverUser}`,
    'topic readwrite v1/devices/#',
    '',
  ].join('\n');
  await writeFile(join(pki.dir, 'acl'), acl);
  const config = [
    // Mosquitto started as root drops to the mosquitto user, who cannot read the 0700 temp dir.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    'per_listener_settings false',
    'allow_anonymous false',
    `acl_file ${join(pki.dir, 'acl')}`,
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    `listener ${port} 127.0.0.1`,
    `cafile ${join(pki.dir, 'ca.crt')}`,
    `certfile ${join(pki.dir, 'server.crt')}`,
    `keyfile ${join(pki.dir, 'server.key')}`,
    'require_certificate true',
    'use_identity_as_username true',
    '',
  ].join('\n');
  const configPath = join(pki.dir, 'mosquitto.conf');
  await writeFile(configPath, config);

  let child: ChildProcess | undefined;
  const launch = async () => {
    const started = spawn(MOSQUITTO, ['-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    started.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child = started;
    await waitForPort(port, started, () => stderr);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  await launch();
  return { port, url: `mqtts://127.0.0.1:${port}`, restart: launch, stop };
}

/** A port nobody listens on now (Mosquitto needs a number, not port 0). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('could not read the free port');
  return address.port;
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}: ${stderr()}`);
    const isOpen = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (isOpen) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`mosquitto did not listen on port ${port} within 10 s: ${stderr()}`);
}
