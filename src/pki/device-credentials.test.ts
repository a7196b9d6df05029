import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { createDeviceKeyAndCsr } from './device-credentials.ts';
import { openssl, vigilError } from './pki-test-support.ts';
import { x509 } from './x509-library.ts';

describe('device key and CSR', () => {
  it('makes a CSR that openssl finds self-signed, with the subject CN=<device id> only', async () => {
    const { csrPem } = await createDeviceKeyAndCsr('ecg-patch_3.1');
    const check = openssl(['req', '-verify', '-noout', '-subject', '-nameopt', 'RFC2253'], { input: csrPem });
    assert.ok(check.ok, check.stderr);
    assert.match(check.stderr + check.stdout, /verify OK/i);
    assert.match(check.stdout, /^subject=CN=ecg-patch_3\.1$/m);
  });

  it('makes a P-256 PKCS#8 key whose public half is the key in the CSR', async () => {
    const { keyPkcs8Pem, csrPem } = await createDeviceKeyAndCsr('ox-1');
    assert.match(keyPkcs8Pem, /^-----BEGIN PRIVATE KEY-----\n/);
    const key = createPrivateKey(keyPkcs8Pem);
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const csrKey = Buffer.from(new x509.Pkcs10CertificateRequest(csrPem).publicKey.rawData);
    assert.deepEqual(createPublicKey(key).export({ format: 'der', type: 'spki' }), csrKey);
  });

  it('makes a new key every time', async () => {
    const [a, b] = await Promise.all([createDeviceKeyAndCsr('ox-1'), createDeviceKeyAndCsr('ox-1')]);
    assert.notEqual(a.keyPkcs8Pem, b.keyPkcs8Pem);
  });

  it('refuses an invalid device id before making anything', async () => {
    for (const deviceId of ['', '-ox', 'ox/1', 'ox 1', 'x'.repeat(65), '#0c0145']) {
      await assert.rejects(
        createDeviceKeyAndCsr(deviceId),
        vigilError('VIGIL_ERR_REQUEST_INVALID'),
        deviceId,
      );
    }
  });
});
