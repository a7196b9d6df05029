/**
 * Renewal and enrolment against a hostile or unlucky timeline: a body held back until the
 * administrator has revoked the certificate, one certificate renewing many times at once, a
 * superseded certificate with a live MQTT session, the current key in another encoding, and
 * enrolment probing which device ids exist.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { type EnrolledCredentials, enrollDevice, renewDevice } from '../src/devices/enroll-client.ts';
import { createDeviceKeyAndCsr } from '../src/pki/index.ts';
import { httpsRequest } from './support/https-client.ts';
import { until } from './support/until.ts';
import { type Harness, publishQos1, startHarness, telemetry } from './support/vigil-harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface HeldRenewal {
  /** Sends the rest of the body. */
  finish(): void;
  result: Promise<{ status: number; text: string }>;
}

describe('device certificate renewal under races', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  /** A renewal whose headers (and TLS identity) reach the server now, and its body later. */
  const holdRenewal = (creds: EnrolledCredentials, csrPem: string): HeldRenewal => {
    const body = JSON.stringify({ csr: csrPem });
    let finish = () => {};
    const result = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        `${h.baseUrl}/api/v1/enroll/renew`,
        {
          method: 'POST',
          ca: h.caPem,
          key: creds.keyPem,
          cert: creds.certPem,
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 1));
      finish = () => req.end(body.slice(1));
    });
    return { finish: () => finish(), result };
  };
  const renewPost = (creds: EnrolledCredentials, csr: string) =>
    httpsRequest(`${h.baseUrl}/api/v1/enroll/renew`, {
      ca: h.caPem,
      method: 'POST',
      body: JSON.stringify({ csr }),
      key: creds.keyPem,
      cert: creds.certPem,
    });
  const unrevoked = async (deviceId: string) =>
    (await h.vigil.devices.certificates(deviceId)).filter((c) => c.revokedAt === null);
  const closedOrRefused = async (client: MqttClient, deviceId: string, seq: number) => {
    let closed = client.disconnected;
    client.on('close', () => (closed = true));
    // The cut-off may trail the HTTP answer by a moment; a session still open must be refused.
    for (let waitedMs = 0; !closed && waitedMs < 1500; waitedMs += 50) await sleep(50);
    if (closed) return true;
    const code = await publishQos1(
      client,
      `v1/devices/${deviceId}/telemetry`,
      telemetry(seq, [{ code: '8867-4', value: 70, unit: '/min' }]),
    );
    return code !== 0;
  };

  it('refuses a renewal whose body arrives after the certificate was revoked', async () => {
    const stolen = await h.enrol('rr-dev-1', 'rr-p1');
    const { csrPem } = await createDeviceKeyAndCsr('rr-dev-1');
    const held = holdRenewal(stolen, csrPem);
    await sleep(300);
    const rev = await h.api('/api/v1/devices/rr-dev-1/revoke', {
      method: 'POST',
      body: { reason: 'credentials stolen' },
    });
    assert.equal(rev.status, 200, rev.text);
    held.finish();
    const res = await held.result;
    assert.equal(res.status, 401, res.text);
    assert.match(res.text, /VIGIL_ERR_TLS_REVOKED/);
    assert.deepEqual(await unrevoked('rr-dev-1'), [], 'no valid certificate after the revocation');
  });

  it('lets one certificate renew once, however many renewals it started', async () => {
    const creds = await h.enrol('rr-dev-2', 'rr-p2');
    const csrs = await Promise.all(Array.from({ length: 8 }, () => createDeviceKeyAndCsr('rr-dev-2')));
    const held = csrs.map(({ csrPem }) => holdRenewal(creds, csrPem));
    await sleep(500);
    for (const r of held) r.finish();
    const statuses = (await Promise.all(held.map((r) => r.result))).map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 200).length, 1, statuses.join());
    assert.ok(
      statuses.every((s) => s === 200 || s === 401),
      statuses.join(),
    );
    assert.equal((await h.vigil.devices.certificates('rr-dev-2')).length, 2, 'enrolment + one renewal');
    assert.equal((await unrevoked('rr-dev-2')).length, 1);
  });

  it('keeps the daily quota when renewals from one certificate arrive together', async () => {
    const creds = await h.enrol('rr-dev-3', 'rr-p3');
    const csrs = await Promise.all(Array.from({ length: 8 }, () => createDeviceKeyAndCsr('rr-dev-3')));
    const results = await Promise.all(csrs.map(({ csrPem }) => renewPost(creds, csrPem)));
    assert.equal(results.filter((r) => r.status === 200).length, 1, results.map((r) => r.status).join());
    assert.ok((await h.vigil.devices.certificates('rr-dev-3')).length <= 5);
    assert.equal((await unrevoked('rr-dev-3')).length, 1);
  });

  it('closes the MQTT session of a certificate superseded by re-enrolment', async () => {
    const stolen = await h.enrol('rr-dev-4', 'rr-p4');
    const attacker = await h.connect(stolen, 'rr-dev-4');
    const tok = await h.api('/api/v1/devices/rr-dev-4/enrollment-token', { method: 'POST', body: {} });
    assert.equal(tok.status, 201, tok.text);
    const { token } = tok.json as { token: string };
    await enrollDevice({ serverUrl: h.baseUrl, caPem: h.caPem, deviceId: 'rr-dev-4', token });
    assert.ok(
      await closedOrRefused(attacker, 'rr-dev-4', 1),
      'the superseded certificate still stores readings',
    );
  });

  it('closes the MQTT session of a certificate superseded by renewal', async () => {
    const old = await h.enrol('rr-dev-5', 'rr-p5');
    const session = await h.connect(old, 'rr-dev-5');
    const renewed = await renewDevice({ serverUrl: h.baseUrl, current: old });
    assert.ok(
      await closedOrRefused(session, 'rr-dev-5', 1),
      'the superseded certificate still stores readings',
    );
    const fresh = await h.connect(renewed, 'rr-dev-5');
    assert.equal(
      await publishQos1(
        fresh,
        'v1/devices/rr-dev-5/telemetry',
        telemetry(2, [{ code: '8867-4', value: 71, unit: '/min' }]),
      ),
      0,
    );
  });

  it('refuses the current key written with a compressed point or explicit curve parameters', async () => {
    const creds = await h.enrol('rr-dev-6', 'rr-p6');
    const dir = mkdtempSync(join(tmpdir(), 'vigil-samekey-'));
    try {
      writeFileSync(join(dir, 'k.pem'), creds.keyPem);
      for (const [flag, value] of [
        ['-conv_form', 'compressed'],
        ['-param_enc', 'explicit'],
      ] as const) {
        const key = join(dir, `${value}.pem`);
        const csr = join(dir, `${value}.csr`);
        execFileSync('openssl', ['ec', '-in', join(dir, 'k.pem'), flag, value, '-out', key], {
          stdio: 'ignore',
        });
        execFileSync('openssl', [
          'req',
          '-new',
          '-key',
          key,
          '-subj',
          '/CN=rr-dev-6',
          '-sha256',
          '-out',
          csr,
        ]);
        const res = await renewPost(creds, readFileSync(csr, 'utf8'));
        assert.equal(res.status, 400, `${value}: ${res.text}`);
        assert.match(res.text, /VIGIL_ERR_ENROLL_BAD_CSR/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal((await h.vigil.devices.certificates('rr-dev-6')).length, 1, 'nothing was issued');
  });

  it('answers enrolment for a registered and an unknown device alike, and records both', async () => {
    await h.vigil.devices.add({ id: 'rr-known', model: 'm', serial: 's' });
    const answers: Array<{ status: number; code: string | undefined; detail: string | undefined }> = [];
    for (const id of ['rr-known', 'rr-unknown']) {
      const { csrPem } = await createDeviceKeyAndCsr(id);
      const r = await httpsRequest(`${h.baseUrl}/api/v1/enroll`, {
        ca: h.caPem,
        method: 'POST',
        body: JSON.stringify({ deviceId: id, token: 'enr_guessguessguess', csr: csrPem }),
      });
      const problem = r.json as { code?: string; detail?: string };
      answers.push({ status: r.status, code: problem.code, detail: problem.detail });
    }
    assert.deepEqual(answers[0], answers[1]);
    assert.equal(answers[0]?.status, 401);
    assert.equal(answers[0]?.code, 'VIGIL_ERR_ENROLL_BAD_TOKEN');
    for (const id of ['rr-known', 'rr-unknown']) {
      const codes = await until(`a security event for ${id}`, async () => {
        const ev = await h.api(`/api/v1/security/events?device=${id}`);
        const found = (ev.json as { events: Array<{ code: string }> }).events.map((e) => e.code);
        return found.length > 0 ? found : undefined;
      });
      assert.deepEqual(codes, ['VIGIL_ERR_ENROLL_BAD_TOKEN']);
    }
  });
});
