import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../errors/catalogue.ts';
import type { DeviceCa } from './ca-types.ts';
import { createDeviceCa } from './certificate-authority.ts';
import { signDeviceCsr } from './csr-signing.ts';
import { MAX_CSR_PEM_CHARS } from './csr-validation.ts';
import { createDeviceKeyAndCsr } from './device-credentials.ts';
import { derToPem, opensslCsr, pemToDer, vigilError, webCryptoEcCsr } from './pki-test-support.ts';

const BAD_CSR = vigilError('VIGIL_ERR_ENROLL_BAD_CSR');
const P256 = ['-pkeyopt', 'ec_paramgen_curve:P-256'];

/** True when signing was refused as a bad CSR, and nothing else happened. */
async function isRefused(ca: DeviceCa, csr: unknown, deviceId = 'pump-7'): Promise<boolean> {
  try {
    await signDeviceCsr(ca, csr as string, deviceId);
    return false;
  } catch (e) {
    return isVigilError(e) && e.code === 'VIGIL_ERR_ENROLL_BAD_CSR';
  }
}

describe('device CSR refusals (VIGIL_ERR_ENROLL_BAD_CSR)', () => {
  let ca: DeviceCa;
  let validCsr: string;
  before(async () => {
    ca = await createDeviceCa({ organization: 'Vigil' });
    validCsr = (await createDeviceKeyAndCsr('pump-7')).csrPem;
  });

  it('refuses a CSR whose CN is another device', async () => {
    const { csrPem } = await createDeviceKeyAndCsr('pump-8');
    await assert.rejects(
      signDeviceCsr(ca, csrPem, 'pump-7'),
      (e) => BAD_CSR(e) && /CN "pump-8" is not the device id/.test(String(e)),
    );
  });

  it('refuses a CN that differs only in case', async () => {
    await assert.rejects(signDeviceCsr(ca, validCsr, 'Pump-7'), BAD_CSR);
  });

  it('refuses a subject with two CNs, in two RDNs or in one', async () => {
    await assert.rejects(
      signDeviceCsr(ca, opensslCsr('ec', '/CN=pump-7/CN=pump-7', P256), 'pump-7'),
      BAD_CSR,
    );
    await assert.rejects(
      signDeviceCsr(ca, opensslCsr('ec', '/CN=pump-7+CN=pump-8', P256), 'pump-7'),
      BAD_CSR,
    );
  });

  it('refuses a CSR without a CN', async () => {
    await assert.rejects(signDeviceCsr(ca, opensslCsr('ec', '/O=pump-7', P256), 'pump-7'), BAD_CSR);
  });

  it('refuses an RSA key', async () => {
    await assert.rejects(
      signDeviceCsr(ca, opensslCsr('rsa:2048', '/CN=pump-7'), 'pump-7'),
      (e) => BAD_CSR(e) && /rsa 2048-bit/.test(String(e)),
    );
  });

  it('refuses an EC key on another curve (P-384)', async () => {
    const csr = await webCryptoEcCsr('P-384', 'SHA-384', [{ CN: ['pump-7'] }]);
    await assert.rejects(signDeviceCsr(ca, csr, 'pump-7'), (e) => BAD_CSR(e) && /secp384r1/.test(String(e)));
  });

  it('refuses an Ed25519 key', async () => {
    await assert.rejects(signDeviceCsr(ca, opensslCsr('ed25519', '/CN=pump-7'), 'pump-7'), BAD_CSR);
  });

  it('refuses a P-256 CSR signed with SHA-384 instead of SHA-256', async () => {
    await assert.rejects(
      signDeviceCsr(ca, opensslCsr('ec', '/CN=pump-7', [...P256, '-sha384']), 'pump-7'),
      BAD_CSR,
    );
  });

  it('refuses a CSR whose signed content was altered to name another device', async () => {
    const der = pemToDer((await createDeviceKeyAndCsr('pump-1')).csrPem);
    const at = der.indexOf('pump-1');
    assert.ok(at > 0);
    der.write('pump-2', at, 'latin1');
    await assert.rejects(
      signDeviceCsr(ca, derToPem(der, 'CERTIFICATE REQUEST'), 'pump-2'),
      (e) => BAD_CSR(e) && /signature/.test(String(e)),
    );
  });

  it('refuses a CSR carrying another key than the one that signed it (no proof of possession)', async () => {
    const mine = pemToDer(validCsr);
    const theirs = pemToDer((await createDeviceKeyAndCsr('pump-7')).csrPem);
    const spkiPrefix = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107', 'hex');
    const [a, b] = [mine.indexOf(spkiPrefix), theirs.indexOf(spkiPrefix)];
    theirs.copy(mine, a, b, b + 91);
    await assert.rejects(signDeviceCsr(ca, derToPem(mine, 'CERTIFICATE REQUEST'), 'pump-7'), BAD_CSR);
  });

  it('refuses every single-bit change anywhere in a valid CSR', async () => {
    const der = pemToDer(validCsr);
    for (let bit = 0; bit < der.length * 8; bit += 1) {
      const changed = Buffer.from(der);
      changed[bit >> 3]! ^= 1 << (bit & 7);
      assert.ok(
        await isRefused(ca, derToPem(changed, 'CERTIFICATE REQUEST')),
        `bit ${bit} flipped was accepted`,
      );
    }
  });

  it('refuses bytes after the DER, and a second PEM block', async () => {
    const der = pemToDer(validCsr);
    await assert.rejects(
      signDeviceCsr(ca, derToPem(Buffer.concat([der, Buffer.from([0])]), 'CERTIFICATE REQUEST'), 'pump-7'),
      BAD_CSR,
    );
    await assert.rejects(signDeviceCsr(ca, `${validCsr}${validCsr}`, 'pump-7'), BAD_CSR);
  });

  it('refuses a certificate, a key or other PEM where a CSR belongs', async () => {
    await assert.rejects(signDeviceCsr(ca, ca.issuing.certPem, 'pump-7'), BAD_CSR);
    await assert.rejects(
      signDeviceCsr(ca, validCsr.replaceAll('CERTIFICATE REQUEST', 'CERTIFICATE'), 'pump-7'),
      BAD_CSR,
    );
    await assert.rejects(signDeviceCsr(ca, ca.issuing.keyPkcs8Pem, 'pump-7'), BAD_CSR);
  });

  it('refuses empty, whitespace, garbage and oversize input quickly', async () => {
    const header = '-----BEGIN CERTIFICATE REQUEST-----\n';
    const footer = '\n-----END CERTIFICATE REQUEST-----\n';
    const huge = [`${header}${'QUFB'.repeat(4_000_000)}${footer}`, 'x'.repeat(MAX_CSR_PEM_CHARS + 1)];
    const started = performance.now();
    for (const csr of [
      '',
      ' \n',
      'hello',
      header + footer,
      `${header}!!!!${footer}`,
      `${header}QUFB${footer}`,
      ...huge,
    ]) {
      await assert.rejects(signDeviceCsr(ca, csr, 'pump-7'), BAD_CSR, csr.slice(0, 60));
    }
    assert.ok(performance.now() - started < 1000, 'refusing oversize input should not parse it');
  });

  it('refuses a missing CSR or device id of the wrong type, and an invalid device id', async () => {
    for (const csr of [undefined, null, 42, {}, Buffer.from(validCsr)]) assert.ok(await isRefused(ca, csr));
    for (const deviceId of ['', '../pump-7', 'x'.repeat(65), 'pump 7'])
      assert.ok(await isRefused(ca, validCsr, deviceId));
  });

  it('throws only VIGIL_ERR_ENROLL_BAD_CSR for arbitrary strings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 4000 }), async (text) => isRefused(ca, text)),
      { numRuns: 300 },
    );
  });

  it('throws only VIGIL_ERR_ENROLL_BAD_CSR for arbitrary bytes wrapped as a PEM CSR', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2000 }), async (bytes) =>
        isRefused(ca, derToPem(bytes, 'CERTIFICATE REQUEST')),
      ),
      { numRuns: 300 },
    );
  });

  it('throws only VIGIL_ERR_ENROLL_BAD_CSR for a valid CSR with bytes spliced in or cut out', async () => {
    const der = pemToDer(validCsr);
    const edit = fc.record({
      at: fc.nat({ max: der.length - 1 }),
      removed: fc.nat({ max: 8 }),
      inserted: fc.uint8Array({ maxLength: 8 }),
    });
    await fc.assert(
      fc.asyncProperty(edit, async ({ at, removed, inserted }) => {
        fc.pre(removed > 0 || inserted.length > 0);
        const edited = Buffer.concat([der.subarray(0, at), inserted, der.subarray(at + removed)]);
        fc.pre(!edited.equals(der));
        return isRefused(ca, derToPem(edited, 'CERTIFICATE REQUEST'));
      }),
      { numRuns: 300 },
    );
  });
});
