import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../errors/catalogue.ts';
import { createDeviceCa } from './certificate-authority.ts';
import { certificateInfo, normalizeSerial } from './certificate-info.ts';
import { signDeviceCsr } from './csr-signing.ts';
import { createDeviceKeyAndCsr } from './device-credentials.ts';
import { openssl, scratchDir, vigilError } from './pki-test-support.ts';
import { x509 } from './x509-library.ts';

describe('normalizeSerial', () => {
  it('maps the spellings of Node TLS, openssl and @peculiar/x509 to one', () => {
    for (const spelling of ['0A1B', '0a1b', 'a1b', '0a:1b', '0A:1B', '000a1b', ' 0a 1b ']) {
      assert.equal(normalizeSerial(spelling), 'a1b', spelling);
    }
    assert.equal(normalizeSerial('0080FF'), '80ff');
    assert.equal(normalizeSerial('00'), '0');
  });

  it('gives every spelling of the same number the same result, and different numbers different ones', () => {
    const serial = fc.bigInt({ min: 0n, max: (1n << 160n) - 1n });
    fc.assert(
      fc.property(serial, serial, fc.nat({ max: 4 }), (a, b, zeros) => {
        const hex = a.toString(16);
        const padded = `${'0'.repeat(zeros)}${hex.length % 2 ? `0${hex}` : hex}`;
        const colons = padded.match(/.{1,2}/g)?.join(':') ?? padded;
        for (const spelling of [hex, padded.toUpperCase(), colons])
          assert.equal(normalizeSerial(spelling), hex);
        assert.equal(normalizeSerial(a.toString(16)) === normalizeSerial(b.toString(16)), a === b);
      }),
    );
  });

  it('refuses what is not hexadecimal', () => {
    for (const serial of ['', 'xyz', '0x1f', '12-34', 'f'.repeat(257)]) {
      assert.throws(() => normalizeSerial(serial), vigilError('VIGIL_ERR_TLS_BAD_CERT'), serial);
    }
  });
});

describe('certificateInfo', () => {
  const dir = scratchDir();
  let devicePem: string;
  let issuingPem: string;
  before(async () => {
    const ca = await createDeviceCa({ organization: 'Vigil' });
    issuingPem = ca.issuing.certPem;
    const { csrPem } = await createDeviceKeyAndCsr('bp-cuff-4');
    devicePem = (await signDeviceCsr(ca, csrPem, 'bp-cuff-4')).certificatePem;
  });
  after(() => dir.remove());

  it('reads the facts openssl reads', () => {
    const info = certificateInfo(devicePem);
    const file = dir.write('device.pem', devicePem);
    const out = openssl(['x509', '-in', file, '-noout', '-serial', '-fingerprint', '-sha256']).stdout;
    assert.equal(info.serialHex, normalizeSerial(/serial=(\w+)/.exec(out)?.[1] ?? ''));
    assert.equal(info.fingerprint256, /Fingerprint=([0-9A-F:]+)/.exec(out)?.[1]);
    assert.equal(info.commonName, 'bp-cuff-4');
    assert.equal(info.issuer, 'O=Vigil, CN=Vigil Device Issuing CA');
    const cert = new X509Certificate(devicePem);
    assert.equal(info.notBefore.getTime(), Date.parse(cert.validFrom));
    assert.equal(info.notAfter.getTime(), Date.parse(cert.validTo));
  });

  it('reads the first certificate of a leaf followed by its chain', () => {
    assert.equal(certificateInfo(`${devicePem}${issuingPem}`).commonName, 'bp-cuff-4');
  });

  it('agrees with Node and @peculiar/x509 on serials with a leading zero nibble or the top bit set', () => {
    for (const serial of ['0x0A1B', '0x80FF', '0x00FF', '0x7fffffffffffffffffffffffffffffffffffff']) {
      const key = dir.write(
        'k.pem',
        openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']).stdout,
      );
      const made = openssl([
        'req',
        '-x509',
        '-key',
        key,
        '-subj',
        '/CN=odd',
        '-set_serial',
        serial,
        '-days',
        '1',
      ]);
      assert.ok(made.ok, made.stderr);
      const expected = BigInt(serial).toString(16);
      assert.equal(certificateInfo(made.stdout).serialHex, expected);
      assert.equal(normalizeSerial(new X509Certificate(made.stdout).serialNumber), expected);
      assert.equal(normalizeSerial(new x509.X509Certificate(made.stdout).serialNumber), expected);
    }
  });

  it('gives undefined for a subject without exactly one CN', () => {
    const key = dir.write(
      'k2.pem',
      openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']).stdout,
    );
    for (const subject of ['/O=nobody', '/CN=a/CN=b']) {
      const made = openssl(['req', '-x509', '-key', key, '-subj', subject, '-days', '1']);
      assert.equal(certificateInfo(made.stdout).commonName, undefined, subject);
    }
  });

  it('refuses anything but a readable PEM certificate with VIGIL_ERR_TLS_BAD_CERT', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), (text) => {
        try {
          certificateInfo(text);
          return false;
        } catch (e) {
          return isVigilError(e) && e.code === 'VIGIL_ERR_TLS_BAD_CERT';
        }
      }),
    );
    const broken = devicePem.replace(/\n[A-Za-z0-9+/]{64}\n/, '\nAAAA\n');
    for (const pem of ['', 'x'.repeat(100_000), broken])
      assert.throws(() => certificateInfo(pem), vigilError('VIGIL_ERR_TLS_BAD_CERT'));
  });
});
