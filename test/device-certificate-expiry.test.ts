/**
 * A device certificate is good until its notAfter and not a second longer, whatever the
 * transport: OpenSSL checks the dates only in a full handshake, so a live MQTT session, a
 * kept-alive HTTPS socket and a resumed TLS session are Vigil's own to cut off.
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import type { IDisconnectPacket } from 'mqtt-packet';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { loadMasterKeyFile } from '../src/crypto/master-key.ts';
import { loadDeviceCa } from '../src/devices/device-ca.ts';
import type { EnrolledCredentials } from '../src/devices/enroll-client.ts';
import { certificateInfo, createDeviceKeyAndCsr, signDeviceCsr } from '../src/pki/index.ts';
import { type Harness, publishQos1, startHarness, telemetry } from './support/vigil-harness.ts';

const DAY_MS = 86_400_000;
/** Long enough to connect and send once before the certificate expires. */
const LIFETIME_MS = 4000;
const HR = (value: number) => ({ code: '8867-4', value, unit: '/min' });

/**
 * Enrols `deviceId` as usual, then gives it a certificate from the harness CA that expires in
 * about LIFETIME_MS (signed as if a one-day certificate had been issued a day ago).
 */
async function shortLivedDevice(
  h: Harness,
  deviceId: string,
): Promise<{ creds: EnrolledCredentials; notAfterMs: number }> {
  await h.enrol(deviceId, `p-${deviceId}`);
  const { db } = h.vigil.store;
  const ca = await loadDeviceCa(db, new KeyRing(db, loadMasterKeyFile(h.config.masterKeyFile)));
  const { keyPkcs8Pem, csrPem } = await createDeviceKeyAndCsr(deviceId);
  const signed = await signDeviceCsr(ca, csrPem, deviceId, {
    validityDays: 1,
    now: new Date(Date.now() + LIFETIME_MS - DAY_MS),
  });
  const info = certificateInfo(signed.certificatePem);
  await h.vigil.devices.recordCertificate({
    serial: signed.serialHex,
    deviceId,
    fingerprint: info.fingerprint256,
    notBefore: info.notBefore.getTime(),
    notAfter: signed.notAfter.getTime(),
  });
  await h.vigil.directory.refresh();
  return {
    creds: { keyPem: keyPkcs8Pem, certPem: `${signed.certificatePem}${signed.chainPem}`, caPem: h.caPem },
    notAfterMs: signed.notAfter.getTime(),
  };
}

function sleepUntil(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms - Date.now())));
}

interface Answer {
  status: number;
  code: string | undefined;
  isReusedSocket: boolean;
  isSessionReused: boolean;
}

function post(h: Harness, agent: Agent, path: string, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${h.baseUrl}${path}`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        // Read now: the socket is detached from the response once it goes back to the agent.
        const isSessionReused = (res.socket as TLSSocket).isSessionReused();
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let code: string | undefined;
          try {
            code = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { code?: string }).code;
          } catch {
            code = undefined;
          }
          resolve({
            status: res.statusCode ?? 0,
            code,
            isReusedSocket: req.reusedSocket,
            isSessionReused,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function eventsFor(h: Harness, deviceId: string): Promise<Array<{ code: string; detail: string }>> {
  const r = await h.api(`/api/v1/security/events?code=VIGIL_ERR_TLS_BAD_CERT&limit=100`);
  assert.equal(r.status, 200, r.text);
  const events = (r.json as { events: Array<{ code: string; deviceId?: string; detail: string }> }).events;
  return events.filter((e) => e.deviceId === deviceId);
}

describe('device certificate expiry', { concurrency: true }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  it('ends an MQTT session when its certificate expires, with DISCONNECT 0x87', async () => {
    const { creds, notAfterMs } = await shortLivedDevice(h, 'exp-mqtt');
    const client = await h.connect(creds, 'exp-mqtt');
    const topic = 'v1/devices/exp-mqtt/telemetry';
    assert.equal(await publishQos1(client, topic, telemetry(1, [HR(70)])), 0);
    const disconnect = new Promise<IDisconnectPacket>((resolve) => client.once('disconnect', resolve));
    const outcome = await Promise.race([
      disconnect,
      sleepUntil(notAfterMs + 3000).then(() => 'still connected' as const),
    ]);
    assert.notEqual(outcome, 'still connected', 'the session outlived its certificate');
    assert.equal((outcome as IDisconnectPacket).reasonCode, 0x87);
    assert.equal((outcome as IDisconnectPacket).properties?.reasonString, 'VIGIL_ERR_TLS_BAD_CERT');
    assert.ok(Date.now() >= notAfterMs, 'not before the certificate expired');
    assert.ok((await eventsFor(h, 'exp-mqtt')).some((e) => /expired/.test(e.detail)));
  });

  it('refuses HTTPS telemetry on a kept-alive socket once the certificate has expired', async () => {
    const { creds, notAfterMs } = await shortLivedDevice(h, 'exp-http');
    const agent = new Agent({
      keepAlive: true,
      maxSockets: 1,
      ca: h.caPem,
      key: creds.keyPem,
      cert: creds.certPem,
    });
    try {
      const path = '/api/v1/devices/exp-http/telemetry';
      const first = await post(h, agent, path, telemetry(1, [HR(70)]));
      assert.equal(first.status, 201);
      await sleepUntil(notAfterMs + 1100);
      const late = await post(h, agent, path, telemetry(2, [HR(71)]));
      assert.ok(late.isReusedSocket, 'the same TLS connection');
      assert.equal(late.status, 401);
      assert.equal(late.code, 'VIGIL_ERR_TLS_BAD_CERT');
      assert.ok((await eventsFor(h, 'exp-http')).length > 0, 'recorded as a security event');
    } finally {
      agent.destroy();
    }
  });

  it('refuses HTTPS telemetry on a resumed TLS session once the certificate has expired', async () => {
    const { creds, notAfterMs } = await shortLivedDevice(h, 'exp-resume');
    // No keep-alive: each request is a new connection, resuming the cached session (ticket).
    const agent = new Agent({ keepAlive: false, ca: h.caPem, key: creds.keyPem, cert: creds.certPem });
    try {
      const path = '/api/v1/devices/exp-resume/telemetry';
      const first = await post(h, agent, path, telemetry(1, [HR(70)]));
      assert.equal(first.status, 201);
      await sleepUntil(notAfterMs + 1100);
      const late = await post(h, agent, path, telemetry(2, [HR(71)]));
      assert.ok(!late.isReusedSocket && late.isSessionReused, 'a new connection resuming the session');
      assert.equal(late.status, 401);
      assert.equal(late.code, 'VIGIL_ERR_TLS_BAD_CERT');
    } finally {
      agent.destroy();
    }
  });

  it('refuses renewal with an expired certificate (RFC 7030 §4.2.2)', async () => {
    const { creds, notAfterMs } = await shortLivedDevice(h, 'exp-renew');
    const agent = new Agent({
      keepAlive: true,
      maxSockets: 1,
      ca: h.caPem,
      key: creds.keyPem,
      cert: creds.certPem,
    });
    try {
      const opened = await post(h, agent, '/api/v1/devices/exp-renew/telemetry', telemetry(1, [HR(70)]));
      assert.equal(opened.status, 201);
      await sleepUntil(notAfterMs + 1100);
      const { csrPem } = await createDeviceKeyAndCsr('exp-renew');
      const renewal = await post(h, agent, '/api/v1/enroll/renew', JSON.stringify({ csr: csrPem }));
      assert.ok(renewal.isReusedSocket, 'the same TLS connection');
      assert.equal(renewal.status, 401);
      assert.equal(renewal.code, 'VIGIL_ERR_TLS_BAD_CERT');
      const certs = await h.vigil.devices.certificates('exp-renew');
      assert.equal(certs.filter((c) => c.revokeReason === null).length, 1, 'no new certificate issued');
    } finally {
      agent.destroy();
    }
  });
});
