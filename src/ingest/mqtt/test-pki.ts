/**
 * Test support only: a throwaway PKI made with the openssl CLI in a temp dir. One CA plays the
 * Vigil device CA and also issues the server certificate (as `vigil init` does); a second,
 * unrelated CA issues a certificate that must be refused.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  readonly keyFile: string;
  readonly certFile: string;
  readonly key: Buffer;
  readonly cert: Buffer;
  readonly serial: string;
}

export interface TestPki {
  readonly dir: string;
  readonly caFile: string;
  readonly ca: Buffer;
  readonly server: CertFiles;
  /** Issues (once per id) a client certificate from the device CA with CN = device id. */
  device(deviceId: string): CertFiles;
  /** Issues a client certificate with CN = device id from a CA the gateway does not trust. */
  rogueDevice(deviceId: string): CertFiles;
  remove(): void;
}

function openssl(cwd: string, args: string[]): void {
  const run = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${run.stderr}`);
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

function issue(dir: string, ca: string, name: string, cn: string, extensions: string): CertFiles {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    'req',
    '-new',
    ...EC_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  ]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
  const serial = spawnSync('openssl', ['x509', '-noout', '-serial', '-in', `${name}.crt`], {
    cwd: dir,
    encoding: 'utf8',
  });
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  return {
    keyFile,
    certFile,
    key: readFileSync(keyFile),
    cert: readFileSync(certFile),
    serial: serial.stdout.trim().replace(/^serial=/, ''),
  };
}

const CLIENT_EXT =
  'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';
const SERVER_EXT =
  'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' +
  'subjectAltName=DNS:localhost,IP:127.0.0.1\n';

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-mqtt-pki-'));
  makeCa(dir, 'device-ca');
  makeCa(dir, 'rogue-ca');
  const caFile = join(dir, 'device-ca.crt');
  // Issuing takes three openssl runs; a test asking twice for one device gets the same files.
  const issued = new Map<string, CertFiles>();
  const once = (name: string, make: () => CertFiles): CertFiles => {
    const existing = issued.get(name);
    if (existing !== undefined) return existing;
    const made = make();
    issued.set(name, made);
    return made;
  };
  return {
    dir,
    caFile,
    ca: readFileSync(caFile),
    server: issue(dir, 'device-ca', 'server', 'localhost', SERVER_EXT),
    device: (id) => once(`device-${id}`, () => issue(dir, 'device-ca', `device-${id}`, id, CLIENT_EXT)),
    rogueDevice: (id) => once(`rogue-${id}`, () => issue(dir, 'rogue-ca', `rogue-${id}`, id, CLIENT_EXT)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
