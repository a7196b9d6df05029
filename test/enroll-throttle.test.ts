/**
 * Refused enrolments are throttled per source over real HTTPS: a client that keeps sending bad
 * tokens is paused after ten in a minute (429, Retry-After, problem document) and stops adding
 * an audit entry per attempt; other sources, and devices that enrol, are not held up. Sources
 * are told apart by binding the client to different loopback addresses (127.0.0.0/8).
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { EnrolledCredentials } from '../src/devices/enroll-client.ts';
import { createDeviceKeyAndCsr } from '../src/pki/index.ts';
import { type HttpsResult, httpsRequest } from './support/https-client.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

const LIMIT = 10;
const BAD_CSR = `-----BEGIN CERTIFICATE REQUEST-----\n${'A'.repeat(120)}\n-----END CERTIFICATE REQUEST-----`;

describe('enrolment throttle', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.stop());

  /** POSTs JSON from the given local address, with a client certificate if given. */
  const post = (path: string, body: unknown, from: string, creds?: EnrolledCredentials) =>
    new Promise<HttpsResult>((resolve, reject) => {
      const text = JSON.stringify(body);
      const req = request(
        `${h.baseUrl}${path}`,
        {
          method: 'POST',
          ca: h.caPem,
          localAddress: from,
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
          ...(creds ? { key: creds.keyPem, cert: creds.certPem } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const t = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = JSON.parse(t);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text: t, json });
          });
        },
      );
      req.on('error', reject);
      req.end(text);
    });
  const badEnrolment = (from: string, i = 0) =>
    post('/api/v1/enroll', { deviceId: `ghost-${i}`, token: 'enr_guessedguessed', csr: BAD_CSR }, from);
  /** A registered device with a fresh token, enrolled from `from`. */
  const goodEnrolment = async (deviceId: string, from: string) => {
    await h.vigil.devices.add({ id: deviceId, model: 'TestOx', serial: `SN-${deviceId}` });
    const { token } = await h.vigil.devices.createEnrollmentToken(deviceId, 600);
    const { csrPem } = await createDeviceKeyAndCsr(deviceId);
    return post('/api/v1/enroll', { deviceId, token, csr: csrPem }, from);
  };
  const auditRows = async (where: { action: string; source?: string; resource?: string }) => {
    let q = h.vigil.store.db
      .selectFrom('audit_log')
      .select(sql<number>`count(*)`.as('n'))
      .where('action', '=', where.action);
    if (where.source !== undefined) q = q.where('source', '=', where.source);
    if (where.resource !== undefined) q = q.where('resource', '=', where.resource);
    return Number((await q.executeTakeFirstOrThrow()).n);
  };
  const refusalsCounted = async (code: string) => {
    const line = (await h.api('/metrics')).text
      .split('\n')
      .find((l) => l.startsWith(`vigil_refusals_total{code="${code}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  const statuses = (answers: HttpsResult[]) => answers.map((a) => a.status);

  it('answers 429 with Retry-After and a problem document after ten refused attempts', async () => {
    for (let i = 0; i < LIMIT; i++) assert.equal((await badEnrolment('127.0.0.2', i)).status, 401);
    const paused = await badEnrolment('127.0.0.2');
    assert.equal(paused.status, 429, paused.text);
    assert.match(String(paused.headers['content-type']), /^application\/problem\+json/);
    const retryAfter = Number(paused.headers['retry-after']);
    assert.ok(
      Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60,
      `Retry-After ${retryAfter}`,
    );
    const problem = paused.json as { code: string; status: number; title: string; detail: string };
    assert.equal(problem.code, 'VIGIL_ERR_ENROLL_THROTTLED');
    assert.equal(problem.status, 429);
    assert.match(problem.detail, /try again in \d+ s/);
  });

  it('stops writing an audit entry per attempt once a source is paused: one says it was paused', async () => {
    const from = '127.0.0.3';
    for (let i = 0; i < LIMIT; i++) await badEnrolment(from, i);
    assert.equal(await auditRows({ action: 'device.enroll', source: from }), LIMIT);
    const countedBefore = await refusalsCounted('VIGIL_ERR_ENROLL_THROTTLED');
    for (let i = 0; i < 30; i++) assert.equal((await badEnrolment(from, i)).status, 429);
    assert.equal(await auditRows({ action: 'device.enroll', source: from }), LIMIT, 'no entry per attempt');
    assert.equal(
      await auditRows({ action: 'device.enroll.throttle', source: from, resource: `Address/${from}` }),
      1,
    );
    assert.equal(await refusalsCounted('VIGIL_ERR_ENROLL_THROTTLED'), countedBefore + 30);
  });

  it('keeps the paused attempts of a source as one security event with their count', async () => {
    const listed = await h.api('/api/v1/security/events?code=VIGIL_ERR_ENROLL_THROTTLED&limit=100');
    assert.equal(listed.status, 200, listed.text);
    const events = (
      listed.json as { events: Array<{ remoteAddress?: string; detail: string }> }
    ).events.filter((e) => e.remoteAddress === '127.0.0.3');
    assert.equal(events.length, 2, JSON.stringify(events));
    assert.ok(
      events.some((e) => /^repeated 29 more times/.test(e.detail)),
      JSON.stringify(events),
    );
  });

  it('lets a concurrent burst through no further than the limit', async () => {
    const from = '127.0.0.4';
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => badEnrolment(from, i)));
    const codes = statuses(answers);
    assert.equal(codes.filter((s) => s === 401).length, LIMIT, codes.join());
    assert.equal(codes.filter((s) => s === 429).length, 60 - LIMIT, codes.join());
    assert.equal(await auditRows({ action: 'device.enroll', source: from }), LIMIT);
    assert.equal(await auditRows({ action: 'device.enroll.throttle', source: from }), 1);
  });

  it('enrols a device from another address while one is paused', async () => {
    assert.equal((await badEnrolment('127.0.0.4')).status, 429, 'still paused');
    const good = await goodEnrolment('thr-dev-1', '127.0.0.5');
    assert.equal(good.status, 200, good.text);
    assert.match((good.json as { certificate: string }).certificate, /BEGIN CERTIFICATE/);
    const alsoGood = await h.enrol('thr-dev-2');
    assert.match(alsoGood.certPem, /BEGIN CERTIFICATE/);
  });

  it('does not count devices that enrol against their address', async () => {
    const from = '127.0.0.6';
    for (let i = 0; i < LIMIT + 5; i++) {
      const r = await goodEnrolment(`thr-ok-${i}`, from);
      assert.equal(r.status, 200, r.text);
    }
    assert.equal((await badEnrolment(from)).status, 401, 'the refused ones still have their ten');
  });

  it('holds a device behind the same address as a paused client until the window passes', async () => {
    const held = await goodEnrolment('thr-nat-1', '127.0.0.2');
    assert.equal(held.status, 429, held.text);
    assert.ok(Number(held.headers['retry-after']) >= 1);
  });

  it('pauses renewals of a device after ten refused ones, and only that device', async () => {
    const noisy = await h.enrol('thr-renew-1');
    const renew = (creds: EnrolledCredentials, csr: string) =>
      post('/api/v1/enroll/renew', { csr }, '127.0.0.1', creds);
    for (let i = 0; i < LIMIT; i++) assert.equal((await renew(noisy, BAD_CSR)).status, 400);
    const paused = await renew(noisy, BAD_CSR);
    assert.equal(paused.status, 429, paused.text);
    assert.equal((paused.json as { code: string }).code, 'VIGIL_ERR_ENROLL_THROTTLED');
    assert.ok(Number(paused.headers['retry-after']) >= 1);
    for (let i = 0; i < 10; i++) await renew(noisy, BAD_CSR);
    assert.equal(await auditRows({ action: 'device.renew', resource: 'Device/thr-renew-1' }), LIMIT);
    assert.equal(await auditRows({ action: 'device.renew.throttle', resource: 'Device/thr-renew-1' }), 1);
    const quiet = await h.enrol('thr-renew-2');
    const { csrPem } = await createDeviceKeyAndCsr('thr-renew-2');
    const renewed = await renew(quiet, csrPem);
    assert.equal(renewed.status, 200, renewed.text);
  });
});

describe('enrolment throttle, configured', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: { VIGIL_ENROLL_REFUSALS_PER_MINUTE: '3' } });
  });
  after(async () => h.stop());

  it('pauses a source after as many refused attempts a minute as VIGIL_ENROLL_REFUSALS_PER_MINUTE says', async () => {
    const attempt = (i: number) =>
      httpsRequest(`${h.baseUrl}/api/v1/enroll`, {
        method: 'POST',
        ca: h.caPem,
        body: JSON.stringify({ deviceId: `ghost-${i}`, token: 'enr_guessedguessed', csr: BAD_CSR }),
      });
    for (let i = 0; i < 3; i++) assert.equal((await attempt(i)).status, 401);
    const paused = await attempt(3);
    assert.equal(paused.status, 429, paused.text);
    assert.equal((paused.json as { code: string }).code, 'VIGIL_ERR_ENROLL_THROTTLED');
  });
});
