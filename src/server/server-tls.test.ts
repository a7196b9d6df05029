import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { VigilError } from '../errors/catalogue.ts';
import { createDeviceCa, type DeviceCa, issueServerCertificate } from '../pki/index.ts';
import { readOwnFiles, reissueReason, serverHosts, uncoveredHosts } from './server-tls.ts';

const DAY_MS = 86_400_000;
const LOOPBACK = ['localhost', '127.0.0.1', '::1'];

describe('serverHosts', () => {
  it('adds VIGIL_HOST and the public URL host to the loopback names, once each', () => {
    assert.deepEqual(serverHosts({ host: '127.0.0.1', publicUrl: undefined }), LOOPBACK);
    assert.deepEqual(serverHosts({ host: '10.1.2.3', publicUrl: 'https://vigil.example.org:8443' }), [
      ...LOOPBACK,
      '10.1.2.3',
      'vigil.example.org',
    ]);
    // An IPv6 literal loses the URL's brackets, as a SAN iPAddress has none.
    assert.deepEqual(serverHosts({ host: '::1', publicUrl: 'https://[2001:db8::5]:8443' }), [
      ...LOOPBACK,
      '2001:db8::5',
    ]);
  });
});

describe('reissueReason', () => {
  let ca: DeviceCa;
  const issuedAt = Date.parse('2026-06-01T00:00:00Z');
  let certPem: string;
  before(async () => {
    ca = await createDeviceCa({ organization: 'Vigil test' });
    certPem = (await issueServerCertificate(ca, [...LOOPBACK, 'vigil.example.org'], new Date(issuedAt)))
      .certPem;
  });

  it('keeps a certificate that names every host and has time left', () => {
    assert.equal(reissueReason(certPem, [...LOOPBACK, 'VIGIL.example.org'], issuedAt + DAY_MS), undefined);
  });

  it('names the hosts it lacks, matched as a client would (no CN fallback, no partial labels)', () => {
    assert.deepEqual(reissueReason(certPem, [...LOOPBACK, '10.0.0.7', 'example.org'], issuedAt), {
      kind: 'hosts',
      missing: ['10.0.0.7', 'example.org'],
    });
    assert.deepEqual(uncoveredHosts(certPem, ['::1', '0:0:0:0:0:0:0:1', '::2']), ['::2']);
  });

  it('renews in its last 30 days and after it ended', () => {
    const notAfter = issuedAt + 825 * DAY_MS;
    assert.equal(reissueReason(certPem, LOOPBACK, notAfter - 31 * DAY_MS), undefined);
    assert.deepEqual(reissueReason(certPem, LOOPBACK, notAfter - 29.5 * DAY_MS), {
      kind: 'expiring',
      daysLeft: 29,
    });
    assert.deepEqual(reissueReason(certPem, LOOPBACK, notAfter + 2 * DAY_MS), {
      kind: 'expiring',
      daysLeft: -2,
    });
  });

  it('replaces one that is not valid yet, as after the clock went back', () => {
    assert.deepEqual(reissueReason(certPem, LOOPBACK, issuedAt - DAY_MS), { kind: 'not-yet-valid' });
  });
});

describe('readOwnFiles', () => {
  let dir: string;
  let pair: { certPem: string; keyPem: string };
  let otherKey: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-own-tls-'));
    const ca = await createDeviceCa({ organization: 'Operator' });
    const a = await issueServerCertificate(ca, ['vigil.example.org']);
    const b = await issueServerCertificate(ca, ['vigil.example.org']);
    pair = { certPem: `${a.certPem}${a.chainPem}`, keyPem: a.keyPkcs8Pem };
    otherKey = b.keyPkcs8Pem;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const files = (cert: string, key: string) => {
    writeFileSync(join(dir, 'cert.pem'), cert);
    writeFileSync(join(dir, 'key.pem'), key);
    return { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') };
  };

  it('reads a certificate with its own key', () => {
    const m = readOwnFiles(files(pair.certPem, pair.keyPem));
    assert.equal(m.certPem, pair.certPem);
    assert.ok(m.notAfterMs > Date.now() + 800 * DAY_MS);
  });

  it('refuses a key that is not the certificate’s, naming both variables', () => {
    assert.throws(
      () => readOwnFiles(files(pair.certPem, otherKey)),
      (e: unknown) =>
        e instanceof VigilError &&
        e.code === 'VIGIL_ERR_CONFIG_INVALID' &&
        /VIGIL_TLS_CERT and VIGIL_TLS_KEY/.test(e.message),
    );
  });

  it('says which file it cannot read', () => {
    assert.throws(
      () => readOwnFiles({ certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'missing.pem') }),
      /VIGIL_TLS_KEY .*missing\.pem does not exist; check the path/,
    );
  });

  it('refuses a named pipe or a device instead of waiting on it or reading it for ever', () => {
    const fifo = join(dir, 'key.fifo');
    execFileSync('mkfifo', [fifo]);
    assert.throws(
      () => readOwnFiles({ certFile: join(dir, 'cert.pem'), keyFile: fifo }),
      (e: unknown) =>
        e instanceof VigilError && /^VIGIL_TLS_KEY .*key\.fifo is a named pipe, not a file/.test(e.detail),
    );
    assert.throws(
      () => readOwnFiles({ certFile: '/dev/zero', keyFile: join(dir, 'key.pem') }),
      (e: unknown) => e instanceof VigilError && /^VIGIL_TLS_CERT \/dev\/zero is a device/.test(e.detail),
    );
  });

  it('refuses a certificate file over 256 KiB, naming the limit', () => {
    assert.throws(
      () => readOwnFiles(files(pair.certPem + '\n'.repeat(256 * 1024), pair.keyPem)),
      (e: unknown) => e instanceof VigilError && /VIGIL_TLS_CERT .* is larger than 256 KiB/.test(e.detail),
    );
  });

  it('answers any bytes in either file with a configuration error, never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, inCert) => {
        const junk = Buffer.from(bytes).toString('latin1');
        try {
          readOwnFiles(inCert ? files(junk, pair.keyPem) : files(pair.certPem, junk));
          return false;
        } catch (e) {
          return e instanceof VigilError && e.code === 'VIGIL_ERR_CONFIG_INVALID';
        }
      }),
      { numRuns: 60 },
    );
  });
});
