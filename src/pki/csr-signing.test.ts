import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { DeviceCa } from './ca-types.ts';
import { createDeviceCa } from './certificate-authority.ts';
import { certificateInfo, normalizeSerial } from './certificate-info.ts';
import { signDeviceCsr } from './csr-signing.ts';
import { createDeviceKeyAndCsr } from './device-credentials.ts';
import { openssl, opensslCsr, opensslVerify, vigilError } from './pki-test-support.ts';
import { x509 } from './x509-library.ts';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const DAY_MS = 24 * 3600 * 1000;
const P256 = ['-pkeyopt', 'ec_paramgen_curve:P-256'];
/** The other spellings of one P-256 key that openssl can write. */
const ENCODINGS = [
  ['-conv_form', 'compressed'],
  ['-param_enc', 'explicit'],
] as const;

/**
 * A fresh P-256 key as the TLS peer certificate shows it (DER SPKI, named curve, uncompressed
 * point), and CSRs from that very key written in each other encoding.
 */
function oneKeyInOtherEncodings(cn: string): { usualSpki: Buffer; csrs: Array<[string, string]> } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const dir = mkdtempSync(join(tmpdir(), 'vigil-encodings-'));
  try {
    const plain = join(dir, 'key.pem');
    writeFileSync(plain, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const csrs = ENCODINGS.map(([flag, value]): [string, string] => {
      const key = join(dir, `${value}.pem`);
      const csr = join(dir, `${value}.csr`);
      execFileSync('openssl', ['ec', '-in', plain, flag, value, '-out', key], { stdio: 'ignore' });
      execFileSync('openssl', ['req', '-new', '-key', key, '-subj', `/CN=${cn}`, '-sha256', '-out', csr]);
      return [value, readFileSync(csr, 'utf8')];
    });
    return { usualSpki: publicKey.export({ type: 'spki', format: 'der' }), csrs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('device CSR signing', () => {
  let ca: DeviceCa;
  before(async () => {
    ca = await createDeviceCa({ organization: 'Vigil', now: NOW });
  });

  it('issues a client certificate for the device that openssl verifies up to the root', async () => {
    const { csrPem } = await createDeviceKeyAndCsr('pump-7');
    const signed = await signDeviceCsr(ca, csrPem, 'pump-7', { now: NOW });
    const asClient = opensslVerify(ca, signed.certificatePem, 'sslclient');
    assert.ok(asClient.ok, asClient.stderr);
    assert.equal(opensslVerify(ca, signed.certificatePem, 'sslserver').ok, false);
    const leaf = new X509Certificate(signed.certificatePem);
    const issuing = new X509Certificate(ca.issuing.certPem);
    assert.ok(leaf.checkIssued(issuing));
    assert.ok(leaf.verify(issuing.publicKey));
    assert.equal(signed.chainPem, `${ca.issuing.certPem}${ca.root.certPem}`);
  });

  it('uses the client profile: CN only, not a CA, digitalSignature, clientAuth, key ids', async () => {
    const { csrPem } = await createDeviceKeyAndCsr('pump-7');
    const cert = new x509.X509Certificate(
      (await signDeviceCsr(ca, csrPem, 'pump-7', { now: NOW })).certificatePem,
    );
    assert.equal(cert.subject, 'CN=pump-7');
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, false);
    assert.equal(cert.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature);
    assert.deepEqual(
      [...(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])],
      [x509.ExtendedKeyUsage.clientAuth],
    );
    assert.ok(cert.getExtension(x509.SubjectKeyIdentifierExtension));
    assert.ok(cert.getExtension(x509.AuthorityKeyIdentifierExtension));
    assert.equal(cert.getExtension(x509.SubjectAlternativeNameExtension), null);
    // No address is guessed: without one configured the certificate names no CRL or OCSP location.
    assert.equal(cert.getExtension(x509.CRLDistributionPointsExtension), null);
    assert.equal(cert.getExtension(x509.AuthorityInfoAccessExtension), null);
  });

  it('names the configured CRL address as a non-critical distribution point', async () => {
    const { csrPem } = await createDeviceKeyAndCsr('pump-7');
    const crlUrl = 'https://vigil.example.org/api/v1/pki/crl';
    const signed = await signDeviceCsr(ca, csrPem, 'pump-7', { now: NOW, crlUrl });
    const ext = new x509.X509Certificate(signed.certificatePem).getExtension(
      x509.CRLDistributionPointsExtension,
    );
    assert.equal(ext?.critical, false);
    assert.deepEqual(
      [...(ext?.distributionPoints ?? [])].map(
        (dp) => dp.distributionPoint?.fullName?.[0]?.uniformResourceIdentifier,
      ),
      [crlUrl],
    );
    assert.ok(opensslVerify(ca, signed.certificatePem, 'sslclient').ok);
  });

  it('names the configured OCSP responder in a non-critical authority information access extension', async () => {
    const { csrPem } = await createDeviceKeyAndCsr('pump-7');
    const ocspUrl = 'https://vigil.example.org/api/v1/pki/ocsp';
    const signed = await signDeviceCsr(ca, csrPem, 'pump-7', { now: NOW, ocspUrl });
    const ext = new x509.X509Certificate(signed.certificatePem).getExtension(
      x509.AuthorityInfoAccessExtension,
    );
    assert.equal(ext?.critical, false);
    assert.deepEqual(
      ext?.ocsp.map((name) => name.value),
      [ocspUrl],
    );
    assert.deepEqual(ext?.caIssuers, []);
    const text = openssl(['x509', '-noout', '-ocsp_uri'], { input: signed.certificatePem });
    assert.equal(text.stdout.trim(), ocspUrl);
    assert.ok(opensslVerify(ca, signed.certificatePem, 'sslclient').ok);
  });

  it('accepts a P-256 CSR made by openssl req, also under the legacy NEW CERTIFICATE REQUEST label', async () => {
    const csrPem = opensslCsr('ec', '/CN=cgm-12', P256);
    await signDeviceCsr(ca, csrPem, 'cgm-12', { now: NOW });
    await signDeviceCsr(ca, csrPem.replaceAll('CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'), 'cgm-12', {
      now: NOW,
    });
  });

  it('copies nothing the CSR asks for except its key', async () => {
    const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    const greedy = await x509.Pkcs10CertificateRequestGenerator.create({
      name: [{ O: ['Evil Corp'] }, { CN: ['pump-7'] }],
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new x509.BasicConstraintsExtension(true, 5, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'vigil.example.org' }]),
      ],
    });
    const signed = await signDeviceCsr(ca, greedy.toString('pem'), 'pump-7', { now: NOW });
    const cert = new x509.X509Certificate(signed.certificatePem);
    assert.equal(cert.subject, 'CN=pump-7');
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, false);
    assert.equal(cert.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature);
    assert.deepEqual(
      [...(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])],
      [x509.ExtendedKeyUsage.clientAuth],
    );
    assert.equal(cert.getExtension(x509.SubjectAlternativeNameExtension), null);
    assert.deepEqual(Buffer.from(cert.publicKey.rawData), Buffer.from(greedy.publicKey.rawData));
  });

  it('recognises the key to renew away from in any encoding (notKey)', async () => {
    const { usualSpki, csrs } = oneKeyInOtherEncodings('pump-7');
    for (const [encoding, csrPem] of csrs) {
      await assert.rejects(
        signDeviceCsr(ca, csrPem, 'pump-7', { now: NOW, notKey: usualSpki }),
        vigilError('VIGIL_ERR_ENROLL_BAD_CSR'),
        encoding,
      );
    }
  });

  it('issues the key in its usual encoding (named curve, uncompressed point) however the CSR wrote it', async () => {
    const { usualSpki, csrs } = oneKeyInOtherEncodings('pump-7');
    for (const [encoding, csrPem] of csrs) {
      const signed = await signDeviceCsr(ca, csrPem, 'pump-7', { now: NOW });
      const cert = new x509.X509Certificate(signed.certificatePem);
      assert.deepEqual(Buffer.from(cert.publicKey.rawData), usualSpki, encoding);
    }
  });

  it('gives each certificate a distinct positive 16-byte serial, returned in normalized form', async () => {
    const { csrPem } = await createDeviceKeyAndCsr('pump-7');
    const serials = new Set<string>();
    for (let i = 0; i < 20; i += 1) {
      const signed = await signDeviceCsr(ca, csrPem, 'pump-7', { now: NOW });
      assert.match(signed.serialHex, /^[4-7][0-9a-f]{31}$/);
      assert.equal(signed.serialHex, certificateInfo(signed.certificatePem).serialHex);
      assert.equal(
        signed.serialHex,
        normalizeSerial(new X509Certificate(signed.certificatePem).serialNumber),
      );
      serials.add(signed.serialHex);
    }
    assert.equal(serials.size, 20);
  });

  it('is valid 397 days by default, or validityDays, from five minutes before now', async () => {
    const { csrPem } = await createDeviceKeyAndCsr('pump-7');
    const byDefault = await signDeviceCsr(ca, csrPem, 'pump-7', { now: NOW });
    assert.equal(byDefault.notAfter.getTime(), NOW.getTime() + 397 * DAY_MS);
    assert.equal(
      certificateInfo(byDefault.certificatePem).notBefore.getTime(),
      NOW.getTime() - 5 * 60 * 1000,
    );
    const month = await signDeviceCsr(ca, csrPem, 'pump-7', { now: NOW, validityDays: 30 });
    assert.equal(month.notAfter.getTime(), NOW.getTime() + 30 * DAY_MS);
    assert.equal(certificateInfo(month.certificatePem).notAfter.getTime(), month.notAfter.getTime());
  });

  it('never lets a device certificate outlive the issuing CA', async () => {
    const { csrPem } = await createDeviceKeyAndCsr('pump-7');
    const late = new Date('2036-01-01T00:00:00Z');
    const signed = await signDeviceCsr(ca, csrPem, 'pump-7', { now: late });
    assert.equal(signed.notAfter.getTime(), new x509.X509Certificate(ca.issuing.certPem).notAfter.getTime());
  });

  it('refuses validityDays that are not whole days from 1 to 3650', async () => {
    const { csrPem } = await createDeviceKeyAndCsr('pump-7');
    for (const validityDays of [0, -1, 1.5, Number.NaN, 3651]) {
      await assert.rejects(
        signDeviceCsr(ca, csrPem, 'pump-7', { validityDays }),
        vigilError('VIGIL_ERR_CONFIG_INVALID'),
        String(validityDays),
      );
    }
  });
});
