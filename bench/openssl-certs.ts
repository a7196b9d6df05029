/**
 * Throw-away TLS material for the Mosquitto reference, made with the openssl CLI: a CA, a
 * server certificate for 127.0.0.1 and one client certificate, all ECDSA P-256 like Vigil's,
 * so "Mosquitto with TLS" does the same mutual-TLS work per connection as Vigil's gateway.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceCredentials } from './load-generator.ts';

export interface TlsMaterial {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  /** Every simulated device presents this one client certificate (Mosquitto only checks the chain). */
  client: DeviceCredentials;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

export function makeTlsMaterial(dir: string): TlsMaterial {
  openssl(dir, [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=vigil-bench-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, cn] of [
    ['server', '127.0.0.1'],
    ['client', 'bench-device'],
  ] as const) {
    openssl(dir, ['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    ]);
  }
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return {
    caFile: join(dir, 'ca.crt'),
    serverCertFile: join(dir, 'server.crt'),
    serverKeyFile: join(dir, 'server.key'),
    client: { keyPem: read('client.key'), certPem: read('client.crt'), caPem: read('ca.crt') },
  };
}
