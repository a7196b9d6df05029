import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import type { DeviceCa } from './ca-types.ts';
import { createDeviceCa } from './certificate-authority.ts';
import { opensslVerify, vigilError } from './pki-test-support.ts';
import { issueServerCertificate } from './server-certificate.ts';
import { x509 } from './x509-library.ts';

const NOW = new Date('2026-03-01T12:00:00.000Z');

describe('server certificate', () => {
  let ca: DeviceCa;
  before(async () => {
    ca = await createDeviceCa({ organization: 'Vigil', now: NOW });
  });

  it('names every host in the subjectAltName, DNS names and IP addresses apart', async () => {
    const server = await issueServerCertificate(
      ca,
      ['localhost', '127.0.0.1', '::1', 'Vigil.Example.ORG', 'localhost'],
      NOW,
    );
    assert.equal(
      new X509Certificate(server.certPem).subjectAltName,
      'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:vigil.example.org',
    );
    assert.equal(new x509.X509Certificate(server.certPem).subject, 'CN=localhost');
  });

  it('verifies with openssl up to the root for TLS servers, and not for TLS clients', async () => {
    const server = await issueServerCertificate(ca, ['localhost'], NOW);
    const asServer = opensslVerify(ca, server.certPem, 'sslserver');
    assert.ok(asServer.ok, asServer.stderr);
    assert.equal(opensslVerify(ca, server.certPem, 'sslclient').ok, false);
  });

  it('has the leaf profile: not a CA, digitalSignature, serverAuth, key ids, 825 days', async () => {
    const cert = new x509.X509Certificate((await issueServerCertificate(ca, ['localhost'], NOW)).certPem);
    const issuing = new x509.X509Certificate(ca.issuing.certPem);
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, false);
    assert.equal(cert.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature);
    assert.deepEqual(
      [...(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])],
      [x509.ExtendedKeyUsage.serverAuth],
    );
    assert.ok(cert.getExtension(x509.SubjectKeyIdentifierExtension));
    assert.equal(
      cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId,
      issuing.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
    );
    assert.equal(cert.notAfter.getTime() - NOW.getTime(), 825 * 24 * 3600 * 1000);
  });

  it('returns a P-256 key for the certificate and the chain issuing CA then root', async () => {
    const server = await issueServerCertificate(ca, ['localhost'], NOW);
    const key = createPrivateKey(server.keyPkcs8Pem);
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(new X509Certificate(server.certPem).checkPrivateKey(key));
    assert.equal(server.chainPem, `${ca.issuing.certPem}${ca.root.certPem}`);
  });

  it('refuses hosts that are neither DNS names nor IP addresses', async () => {
    for (const host of [
      '',
      'bad host',
      '-leading.example',
      'under_score.example',
      'fe80::1%eth0',
      `${'a'.repeat(64)}.example`,
      'a..b',
    ]) {
      await assert.rejects(
        issueServerCertificate(ca, [host], NOW),
        vigilError('VIGIL_ERR_CONFIG_INVALID'),
        JSON.stringify(host),
      );
    }
  });

  it('refuses an empty host list', async () => {
    await assert.rejects(issueServerCertificate(ca, [], NOW), vigilError('VIGIL_ERR_CONFIG_INVALID'));
  });

  it('refuses to sign with an issuing key that does not belong to the issuing certificate', async () => {
    const miswired: DeviceCa = {
      root: ca.root,
      issuing: { certPem: ca.issuing.certPem, keyPkcs8Pem: ca.root.keyPkcs8Pem },
    };
    await assert.rejects(
      issueServerCertificate(miswired, ['localhost'], NOW),
      vigilError('VIGIL_ERR_CONFIG_INVALID'),
    );
  });

  it('refuses to issue once the issuing CA has expired', async () => {
    await assert.rejects(
      issueServerCertificate(ca, ['localhost'], new Date('2036-03-02T00:00:00Z')),
      vigilError('VIGIL_ERR_CONFIG_INVALID'),
    );
  });
});
