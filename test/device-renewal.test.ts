/**
 * Certificate renewal without an administrator: a device presents its current certificate
 * over mutual TLS with a CSR for a new key and gets a new certificate; the old one is revoked
 * at once and refused at the next connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type EnrolledCredentials, renewDevice } from '../src/devices/enroll-client.ts';
import { createDeviceKeyAndCsr } from '../src/pki/index.ts';
import { httpsRequest } from './support/https-client.ts';
import { type Harness, publishQos1, startHarness, telemetry } from './support/vigil-harness.ts';

describe('device certificate renewal', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });
  const renewPost = (creds: EnrolledCredentials | undefined, csr: string) =>
    httpsRequest(`${h.baseUrl}/api/v1/enroll/renew`, {
      ca: h.caPem,
      method: 'POST',
      body: JSON.stringify({ csr }),
      ...(creds ? { key: creds.keyPem, cert: creds.certPem } : {}),
    });

  it('issues a certificate for a new key and revokes the old one', async () => {
    const old = await h.enrol('rn-dev-1', 'rn-p1');
    const before = await h.connect(old, 'rn-dev-1');
    assert.equal(
      await publishQos1(
        before,
        'v1/devices/rn-dev-1/telemetry',
        telemetry(1, [{ code: '8867-4', value: 70, unit: '/min' }]),
      ),
      0,
    );
    before.end(true);

    const renewed = await renewDevice({ serverUrl: h.baseUrl, current: old });
    assert.notEqual(renewed.keyPem, old.keyPem);
    const fresh = await h.connect(renewed, 'rn-dev-1');
    assert.equal(
      await publishQos1(
        fresh,
        'v1/devices/rn-dev-1/telemetry',
        telemetry(2, [{ code: '8867-4', value: 71, unit: '/min' }]),
      ),
      0,
    );
    await assert.rejects(h.connect(old, 'rn-dev-1'), 'the old certificate is refused');
    const certs = await h.vigil.devices.certificates('rn-dev-1');
    assert.deepEqual(
      certs.map((c) => c.revokeReason),
      [null, 'superseded'],
    );
    const audit = await h.vigil.store.db
      .selectFrom('audit_log')
      .select(['action', 'outcome'])
      .where('resource', '=', 'Device/rn-dev-1')
      .orderBy('seq')
      .execute();
    assert.deepEqual(
      audit.map((a) => `${a.action}:${a.outcome}`).filter((a) => a.startsWith('device.renew')),
      ['device.renew:success'],
    );
    // Renewing again with the new certificate works too; the superseded one cannot renew.
    await assert.rejects(renewDevice({ serverUrl: h.baseUrl, current: old }), /renewal refused/);
    await renewDevice({ serverUrl: h.baseUrl, current: renewed });
  });

  it('allows five certificates a day, enrolment included', async () => {
    let creds = await h.enrol('rn-dev-3', 'rn-p3');
    for (let i = 0; i < 4; i++) creds = await renewDevice({ serverUrl: h.baseUrl, current: creds });
    const { csrPem } = await createDeviceKeyAndCsr('rn-dev-3');
    const refused = await renewPost(creds, csrPem);
    assert.equal(refused.status, 429, refused.text);
    assert.equal((refused.json as { code: string }).code, 'VIGIL_ERR_ENROLL_TOO_OFTEN');
    assert.equal((await h.vigil.devices.certificates('rn-dev-3')).length, 5);
    await h.connect(creds, 'rn-dev-3'); // the last certificate still works
  });

  it('refuses the same key, a CSR for another device, no certificate, and a quarantined device', async () => {
    const creds = await h.enrol('rn-dev-2', 'rn-p2');
    // A CSR naming another device.
    const { csrPem: otherDevice } = await createDeviceKeyAndCsr('rn-dev-1');
    const refusedOther = await renewPost(creds, otherDevice);
    assert.equal(refusedOther.status, 400, refusedOther.text);
    assert.match(refusedOther.text, /rn-dev-2|CN/);

    const sameKey = await sameKeyCsr(creds);
    const refusedSame = await renewPost(creds, sameKey);
    assert.equal(refusedSame.status, 400, refusedSame.text);
    assert.match(refusedSame.text, /new key/);

    const { csrPem } = await createDeviceKeyAndCsr('rn-dev-2');
    const anonymous = await renewPost(undefined, csrPem);
    assert.ok(anonymous.status === 401 || anonymous.status === 403, `${anonymous.status} ${anonymous.text}`);

    await h.vigil.quarantine('rn-dev-2', 'suspected tampering', 'test');
    const quarantined = await renewPost(creds, csrPem);
    assert.equal(quarantined.status, 403, quarantined.text);
    const events = await h.api('/api/v1/security/events?device=rn-dev-2');
    const codes = (events.json as { events: Array<{ code: string }> }).events.map((e) => e.code);
    assert.ok(codes.includes('VIGIL_ERR_ENROLL_BAD_CSR'), codes.join());
    assert.equal((await h.vigil.devices.certificates('rn-dev-2')).length, 1, 'nothing was issued');
  });
});

/** A CSR signed by the device's current key, as a device that skips making a new key would send. */
async function sameKeyCsr(creds: EnrolledCredentials): Promise<string> {
  const { x509 } = await import('../src/pki/x509-library.ts');
  const { createPrivateKey, createPublicKey, webcrypto } = await import('node:crypto');
  const priv = createPrivateKey(creds.keyPem);
  const alg = { name: 'ECDSA', namedCurve: 'P-256' };
  const keys = {
    privateKey: await webcrypto.subtle.importKey(
      'pkcs8',
      priv.export({ type: 'pkcs8', format: 'der' }),
      alg,
      false,
      ['sign'],
    ),
    publicKey: await webcrypto.subtle.importKey(
      'spki',
      createPublicKey(priv).export({ type: 'spki', format: 'der' }),
      alg,
      true,
      ['verify'],
    ),
  };
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: ['rn-dev-2'] }],
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  return csr.toString('pem');
}
