import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../errors/catalogue.ts';
import { createDeviceCa, createDeviceKeyAndCsr, signDeviceCsr } from '../pki/index.ts';
import { deviceIdOf } from './enroll-client.ts';

describe('deviceIdOf (the device side reads its own certificate file)', () => {
  it('reads the CN of the leaf of an issued chain', async () => {
    const ca = await createDeviceCa({ organization: 'Vigil test' });
    const { csrPem } = await createDeviceKeyAndCsr('ox-042');
    const signed = await signDeviceCsr(ca, csrPem, 'ox-042');
    assert.equal(deviceIdOf(`${signed.certificatePem}${signed.chainPem}`), 'ox-042');
    // The issuing CA's certificate names no device.
    assert.throws(
      () => deviceIdOf(ca.issuing.certPem),
      (e) => isVigilError(e),
    );
  });

  it('answers any other file with a VigilError, never a crash', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.base64String().map((b) => `-----BEGIN CERTIFICATE-----\n${b}\n-----END CERTIFICATE-----\n`),
        ),
        (text) => {
          try {
            deviceIdOf(text);
            assert.fail('a device id from a file that is no certificate');
          } catch (e) {
            assert.ok(isVigilError(e), String(e));
          }
        },
      ),
    );
  });
});
