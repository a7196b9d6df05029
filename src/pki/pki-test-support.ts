/**
 * Test support only: small factories for PKI tests, and the openssl CLI as an independent
 * second opinion on what this module produces.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ErrorCode } from '../errors/catalogue.ts';
import { isVigilError } from '../errors/catalogue.ts';
import type { DeviceCa } from './ca-types.ts';
import { encodePem } from './pem.ts';
import { x509 } from './x509-library.ts';

export interface OpensslResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

export function openssl(args: readonly string[], opts: { cwd?: string; input?: string } = {}): OpensslResult {
  const run = spawnSync('openssl', args, { cwd: opts.cwd, input: opts.input, encoding: 'utf8' });
  return { ok: run.status === 0, stdout: run.stdout, stderr: run.stderr };
}

/** A temp dir whose files are written from strings; `remove()` when done. */
export function scratchDir(): { path: string; write(name: string, text: string): string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'vigil-pki-test-'));
  return {
    path,
    write: (name, text) => {
      const file = join(path, name);
      writeFileSync(file, text);
      return file;
    },
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}

/** `openssl verify -CAfile root -untrusted issuing leaf`, with an optional purpose. */
export function opensslVerify(
  ca: DeviceCa,
  leafPem: string,
  purpose?: 'sslclient' | 'sslserver',
): OpensslResult {
  const dir = scratchDir();
  try {
    const args = [
      'verify',
      '-CAfile',
      dir.write('root.pem', ca.root.certPem),
      '-untrusted',
      dir.write('issuing.pem', ca.issuing.certPem),
    ];
    if (purpose !== undefined) args.push('-purpose', purpose);
    return openssl([...args, dir.write('leaf.pem', leafPem)]);
  } finally {
    dir.remove();
  }
}

/** A CSR made by openssl with a fresh key of the given kind, e.g. ['rsa:2048'] or ['ed25519']. */
export function opensslCsr(newKey: string, subject: string, extraArgs: readonly string[] = []): string {
  const run = openssl([
    'req',
    '-new',
    '-newkey',
    newKey,
    '-nodes',
    '-keyout',
    '/dev/null',
    '-subj',
    subject,
    ...extraArgs,
  ]);
  assert.ok(run.ok, run.stderr);
  return run.stdout;
}

/** A CSR made with WebCrypto from an EC key on any curve, signed with the given hash. */
export async function webCryptoEcCsr(namedCurve: string, hash: string, name: x509.JsonName): Promise<string> {
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve }, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash },
  });
  return csr.toString('pem');
}

export function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, ''), 'base64');
}

export function derToPem(der: Uint8Array, label: string): string {
  return encodePem(der, label);
}

/** An assert.rejects / assert.throws matcher for one catalogue code. */
export function vigilError(code: ErrorCode): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isVigilError(e), `expected a VigilError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  };
}
