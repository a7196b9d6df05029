/**
 * With `VIGIL_PUBLIC_URL` set, every device certificate names where its revocation list is
 * published (CRL distribution point), so a relying party that fetches CRLs finds Vigil's without
 * being told; that address serves the list, and a renewed certificate carries it too.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { renewDevice } from '../src/devices/enroll-client.ts';
import { x509 } from '../src/pki/x509-library.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

const PUBLIC_URL = 'https://vigil.example.org:8443';

const leafOf = (certPem: string) =>
  new x509.X509Certificate(certPem.split(/(?=-----BEGIN CERTIFICATE-----)/)[0] ?? '');

function distributionPoints(certPem: string): string[] {
  const ext = leafOf(certPem).getExtension(x509.CRLDistributionPointsExtension);
  // The asn1 schema's list types are Array subclasses; plain arrays compare with deepEqual.
  return [...(ext?.distributionPoints ?? [])].flatMap((dp) =>
    [...(dp.distributionPoint?.fullName ?? [])].map((name) => name.uniformResourceIdentifier ?? ''),
  );
}

describe('CRL distribution point in device certificates', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: { VIGIL_PUBLIC_URL: `${PUBLIC_URL}/` } });
  });
  after(() => h.stop());

  it('names the public CRL address, which serves the signed list', async () => {
    const creds = await h.enrol('cdp-pump');
    const points = distributionPoints(creds.certPem);
    assert.deepEqual(points, [`${PUBLIC_URL}/api/v1/pki/crl`]);
    // OpenSSL reads the same extension, as a relying party's TLS stack would.
    const text = execFileSync('openssl', ['x509', '-noout', '-ext', 'crlDistributionPoints'], {
      input: leafOf(creds.certPem).toString('pem'),
    }).toString();
    assert.match(text, /URI:https:\/\/vigil\.example\.org:8443\/api\/v1\/pki\/crl/);
    // The path, asked of this server, answers the DER list RFC 5280 expects there.
    const res = await h.api(new URL(points[0] ?? '').pathname);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/pkix-crl');
  });

  it('keeps it in a renewed certificate', async () => {
    const creds = await h.enrol('cdp-cgm');
    const renewed = await renewDevice({ serverUrl: h.baseUrl, current: creds });
    assert.deepEqual(distributionPoints(renewed.certPem), [`${PUBLIC_URL}/api/v1/pki/crl`]);
  });
});
