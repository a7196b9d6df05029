import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import type { DeviceCa } from './ca-types.ts';
import { createDeviceCa } from './certificate-authority.ts';
import { vigilError } from './pki-test-support.ts';
import { CLOCK_SKEW_MS } from './validity.ts';
import { x509 } from './x509-library.ts';

const NOW = new Date('2026-03-01T12:00:00.000Z');

function caFacts(pem: string) {
  const cert = new x509.X509Certificate(pem);
  return {
    cert,
    basicConstraints: cert.getExtension(x509.BasicConstraintsExtension),
    keyUsage: cert.getExtension(x509.KeyUsagesExtension),
    ski: cert.getExtension(x509.SubjectKeyIdentifierExtension),
    aki: cert.getExtension(x509.AuthorityKeyIdentifierExtension),
  };
}

describe('device CA', () => {
  let ca: DeviceCa;
  before(async () => {
    ca = await createDeviceCa({ organization: 'St Elsewhere Hospital', now: NOW });
  });

  it('makes a self-signed root that may sign one level of CA below it', async () => {
    const root = caFacts(ca.root.certPem);
    assert.equal(root.basicConstraints?.ca, true);
    assert.equal(root.basicConstraints?.pathLength, 1);
    assert.equal(root.basicConstraints?.critical, true);
    assert.equal(root.keyUsage?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    assert.equal(root.keyUsage?.critical, true);
    assert.ok(root.ski, 'root has a subject key identifier');
    assert.ok(await root.cert.isSelfSigned());
    assert.equal(root.cert.subject, 'O=St Elsewhere Hospital, CN=St Elsewhere Hospital Device Root CA');
  });

  it('makes an issuing CA signed by the root that may sign only leaves', () => {
    const issuing = caFacts(ca.issuing.certPem);
    const root = caFacts(ca.root.certPem);
    assert.equal(issuing.basicConstraints?.ca, true);
    assert.equal(issuing.basicConstraints?.pathLength, 0);
    assert.equal(issuing.keyUsage?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    assert.equal(issuing.aki?.keyId, root.ski?.keyId);
    assert.notEqual(issuing.ski?.keyId, root.ski?.keyId);
    const nativeRoot = new X509Certificate(ca.root.certPem);
    const nativeIssuing = new X509Certificate(ca.issuing.certPem);
    assert.ok(nativeIssuing.checkIssued(nativeRoot));
    assert.ok(nativeIssuing.verify(nativeRoot.publicKey));
  });

  it('uses ECDSA P-256 keys and ecdsa-with-SHA256 signatures', () => {
    for (const pem of [ca.root.certPem, ca.issuing.certPem]) {
      const cert = new X509Certificate(pem);
      assert.equal(cert.publicKey.asymmetricKeyType, 'ec');
      assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
      assert.deepEqual(new x509.X509Certificate(pem).signatureAlgorithm, {
        name: 'ECDSA',
        hash: { name: 'SHA-256' },
      });
    }
  });

  it('returns each private key as PKCS#8 PEM that belongs to its certificate', () => {
    for (const pair of [ca.root, ca.issuing]) {
      assert.match(pair.keyPkcs8Pem, /^-----BEGIN PRIVATE KEY-----\n/);
      assert.ok(new X509Certificate(pair.certPem).checkPrivateKey(createPrivateKey(pair.keyPkcs8Pem)));
    }
    assert.ok(
      !new X509Certificate(ca.issuing.certPem).checkPrivateKey(createPrivateKey(ca.root.keyPkcs8Pem)),
    );
  });

  it('gives the root 20 years and the issuing CA 10, from a few minutes before now', () => {
    const root = new x509.X509Certificate(ca.root.certPem);
    const issuing = new x509.X509Certificate(ca.issuing.certPem);
    assert.equal(root.notBefore.getTime(), NOW.getTime() - CLOCK_SKEW_MS);
    assert.equal(root.notAfter.toISOString(), '2046-03-01T12:00:00.000Z');
    assert.equal(issuing.notBefore.getTime(), NOW.getTime() - CLOCK_SKEW_MS);
    assert.equal(issuing.notAfter.toISOString(), '2036-03-01T12:00:00.000Z');
  });

  it('gives each CA a positive 16-byte random serial', async () => {
    const other = await createDeviceCa({ organization: 'St Elsewhere Hospital', now: NOW });
    const serials = [ca, other]
      .flatMap((c) => [c.root.certPem, c.issuing.certPem])
      .map((pem) => new X509Certificate(pem).serialNumber);
    for (const serial of serials) assert.match(serial, /^[4-7][0-9A-F]{31}$/);
    assert.equal(new Set(serials).size, serials.length);
  });

  it('writes the organization exactly as given, with no DN syntax or escapes interpreted', async () => {
    for (const organization of ['Acme, Inc. "CN=evil"', '#0c0145', 'back\\slash\\0a', 'Hôpital Saint-Éloi']) {
      const root = new x509.X509Certificate((await createDeviceCa({ organization, now: NOW })).root.certPem);
      assert.deepEqual(root.subjectName.getField('O'), [organization]);
      assert.deepEqual(root.subjectName.getField('CN'), [`${organization} Device Root CA`]);
    }
  });

  it('refuses an organization that is empty, too long, padded or holds control characters', async () => {
    for (const organization of ['', 'x'.repeat(41), ' Vigil', 'Vigil\n', 'Vi\u0000gil']) {
      await assert.rejects(
        createDeviceCa({ organization }),
        vigilError('VIGIL_ERR_CONFIG_INVALID'),
        JSON.stringify(organization),
      );
    }
  });
});
