import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { DeviceCa } from './ca-types.ts';
import { createDeviceCa } from './certificate-authority.ts';
import { buildCrl, crlToPem, derInteger } from './crl.ts';
import { signDeviceCsr } from './csr-signing.ts';
import { createDeviceKeyAndCsr } from './device-credentials.ts';
import { openssl, scratchDir, vigilError } from './pki-test-support.ts';
import { x509 } from './x509-library.ts';

const NOW = Math.floor(Date.now() / 1000) * 1000;
const DAY = 86_400_000;

describe('device CA revocation list', () => {
  let ca: DeviceCa;
  const leaves: Record<'revoked' | 'replaced' | 'good', { pem: string; serial: string }> = {
    revoked: { pem: '', serial: '' },
    replaced: { pem: '', serial: '' },
    good: { pem: '', serial: '' },
  };
  before(async () => {
    ca = await createDeviceCa({ organization: 'Vigil test' });
    for (const name of ['revoked', 'replaced', 'good'] as const) {
      const { csrPem } = await createDeviceKeyAndCsr(`crl-${name}`);
      const signed = await signDeviceCsr(ca, csrPem, `crl-${name}`, { now: new Date(NOW - DAY) });
      leaves[name] = { pem: signed.certificatePem, serial: signed.serialHex };
    }
  });

  const build = async (crlNumber = 7n) =>
    (
      await buildCrl(
        ca,
        [
          {
            serial: leaves.revoked.serial,
            revokedAtMs: NOW - 3_600_000,
            notAfterMs: NOW + DAY,
            reason: 'stolen',
          },
          {
            serial: leaves.replaced.serial,
            revokedAtMs: NOW - 60_000,
            notAfterMs: NOW + DAY,
            reason: 'superseded',
          },
          // Expired certificates leave the list (RFC 5280 §3.3).
          { serial: 'abc123', revokedAtMs: NOW - 40 * DAY, notAfterMs: NOW - DAY, reason: null },
        ],
        { nowMs: NOW, crlNumber },
      )
    ).der;

  it('is signed by the issuing CA and lists the unexpired revoked serials with dates and reasons', async () => {
    const crl = new x509.X509Crl(await build());
    const issuing = new x509.X509Certificate(ca.issuing.certPem);
    assert.equal(crl.issuer, issuing.subject);
    assert.ok(await crl.verify({ publicKey: issuing.publicKey }));
    assert.equal(crl.thisUpdate.getTime(), NOW);
    assert.equal(crl.nextUpdate?.getTime(), NOW + DAY);
    const entries = crl.entries.map((e) => [
      e.serialNumber.replace(/^0+/, ''),
      e.revocationDate.getTime(),
      e.reason,
    ]);
    assert.deepEqual(entries, [
      [leaves.revoked.serial, NOW - 3_600_000, undefined],
      [leaves.replaced.serial, NOW - 60_000, x509.X509CrlReason.superseded],
    ]);
    assert.ok(crl.findRevoked(new x509.X509Certificate(leaves.revoked.pem)));
    assert.equal(crl.findRevoked(new x509.X509Certificate(leaves.good.pem)), null);
  });

  it('makes openssl refuse the revoked certificates and accept the others', async () => {
    const dir = scratchDir();
    try {
      const args = [
        'verify',
        '-crl_check',
        '-attime',
        String(NOW / 1000),
        '-CAfile',
        dir.write('root.pem', ca.root.certPem),
        '-untrusted',
        dir.write('issuing.pem', ca.issuing.certPem),
        '-CRLfile',
        dir.write('crl.pem', crlToPem(await build())),
      ];
      const text = openssl(['crl', '-in', `${dir.path}/crl.pem`, '-noout', '-text']).stdout;
      assert.match(text, /X509v3 CRL Number:\s*\n\s*7\b/);
      assert.match(text, /X509v3 Authority Key Identifier/);
      const good = openssl([...args, dir.write('good.pem', leaves.good.pem)]);
      assert.ok(good.ok, good.stdout + good.stderr);
      for (const name of ['revoked', 'replaced'] as const) {
        const refused = openssl([...args, dir.write(`${name}.pem`, leaves[name].pem)]);
        assert.equal(refused.ok, false, name);
        assert.match(refused.stdout + refused.stderr, /certificate revoked/);
      }
    } finally {
      dir.remove();
    }
  });

  it('refuses a CRL number outside what RFC 5280 allows', async () => {
    await assert.rejects(build(-1n), vigilError('VIGIL_ERR_CONFIG_INVALID'));
    await assert.rejects(build(1n << 159n), vigilError('VIGIL_ERR_CONFIG_INVALID'));
  });

  it('encodes any CRL number as a shortest-form DER INTEGER', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 159n) - 1n }), (n) => {
        const der = derInteger(n);
        assert.equal(der[0], 0x02);
        assert.equal(der[1], der.length - 2);
        const body = der.subarray(2);
        assert.equal((body[0] as number) & 0x80, 0, 'non-negative');
        if (body.length > 1) assert.ok(body[0] !== 0 || ((body[1] as number) & 0x80) !== 0, 'shortest form');
        assert.equal(BigInt(`0x${body.toString('hex')}`), n);
      }),
    );
  });
});
