/**
 * The device CA's OCSP responder, end to end, with Debian's `openssl ocsp` as the relying party:
 * it builds the request from the certificates, POSTs it over HTTPS to a real Vigil, checks the
 * nonce and the issuing CA's signature, and prints the status. The GET form, refusals and the
 * authority information access extension that points relying parties here are checked too.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type EnrolledCredentials, enrollDevice } from '../src/devices/enroll-client.ts';
import { DEFAULT_OCSP_THROTTLE } from '../src/devices/ocsp-responder.ts';
import { createDeviceCa } from '../src/pki/certificate-authority.ts';
import { signDeviceCsr } from '../src/pki/csr-signing.ts';
import { createDeviceKeyAndCsr } from '../src/pki/device-credentials.ts';
import { ocspRequestDer } from '../src/pki/ocsp-test-support.ts';
import { type OpensslResult, openssl } from '../src/pki/pki-test-support.ts';
import { x509 } from '../src/pki/x509-library.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

const OCSP = '/api/v1/pki/ocsp';
const PUBLIC_URL = 'https://vigil.example.org:8443';

const pemBlocks = (pem: string) =>
  pem.split(/(?=-----BEGIN CERTIFICATE-----)/).filter((b) => b.trim() !== '');
const leafOf = (certPem: string) => pemBlocks(certPem)[0] ?? '';

/** The issuing CA's certificate from an enrolment's chain: the one that names the leaf's issuer. */
function issuingOf(certPem: string): string {
  const issuer = new x509.X509Certificate(leafOf(certPem)).issuer;
  const found = pemBlocks(certPem).find((pem) => new x509.X509Certificate(pem).subject === issuer);
  assert.ok(found, 'enrolment handed out the issuing CA with the certificate');
  return found;
}

/**
 * openssl as a child process, awaited: the harness's Vigil runs in this process, so openssl
 * talking to it must not block the event loop as spawnSync would.
 */
function opensslClient(args: readonly string[]): Promise<OpensslResult & { text: string }> {
  return new Promise((resolve) => {
    execFile('openssl', args, { encoding: 'utf8', timeout: 20_000 }, (error, stdout, stderr) =>
      resolve({ ok: error === null, stdout, stderr, text: stdout + stderr }),
    );
  });
}

describe('OCSP responder with openssl ocsp as the client', () => {
  let h: Harness;
  let dir: string;
  let issuingFile: string;
  let rootFile: string;
  const creds: Record<string, EnrolledCredentials> = {};

  const file = (name: string, text: string | Buffer) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const certFile = (id: string) => file(`${id}.pem`, leafOf(creds[id]?.certPem ?? ''));

  /** `openssl ocsp -url https://…` with its default nonce: openssl POSTs, verifies and prints. */
  function ask(certPath: string, extra: readonly string[] = []) {
    return opensslClient([
      'ocsp',
      '-issuer',
      issuingFile,
      '-cert',
      certPath,
      '-url',
      `${h.baseUrl}${OCSP}`,
      '-CAfile',
      rootFile,
      '-resp_text',
      ...extra,
    ]);
  }

  /** The DER request openssl makes for a certificate without a nonce, as RFC 5019 clients send. */
  function plainRequest(certPath: string): Buffer {
    const out = join(dir, 'plain-req.der');
    const made = openssl(['ocsp', '-issuer', issuingFile, '-cert', certPath, '-no_nonce', '-reqout', out]);
    assert.ok(made.ok, made.stderr);
    return readFileSync(out);
  }
  const post = (body: Buffer, agent?: Agent) =>
    fetchBytes(`${h.baseUrl}${OCSP}`, {
      ca: h.caPem,
      method: 'POST',
      body,
      contentType: 'application/ocsp-request',
      ...(agent ? { agent } : {}),
    });
  /** What `openssl ocsp` reads in an answer to a request without a nonce. */
  const opensslReads = (answer: Buffer, certPath: string) =>
    openssl([
      'ocsp',
      '-respin',
      file('read-resp.der', answer),
      '-issuer',
      issuingFile,
      '-cert',
      certPath,
      '-CAfile',
      rootFile,
      '-no_nonce',
    ]);

  before(async () => {
    h = await startHarness();
    dir = mkdtempSync(join(tmpdir(), 'vigil-ocsp-'));
    for (const id of ['ocsp-good', 'ocsp-stolen', 'ocsp-held', 'ocsp-reenrolled', 'ocsp-cached'])
      creds[id] = await h.enrol(id);
    issuingFile = file('issuing.pem', issuingOf(creds['ocsp-good']?.certPem ?? ''));
    rootFile = file('root.pem', h.caPem);
  });
  after(async () => {
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers good for an enrolled device's certificate, signed by the issuing CA, nonce echoed", async () => {
    const r = await ask(certFile('ocsp-good'));
    assert.ok(r.ok, r.text);
    assert.match(r.text, /Response verify OK/);
    assert.match(r.text, /ocsp-good\.pem: good/);
    // openssl sent a nonce and would print "WARNING: no nonce in response" without the echo.
    assert.match(r.text, /OCSP Nonce:/);
    assert.doesNotMatch(r.text, /WARNING: no nonce|Nonce Verify error/);
    assert.match(r.text, /Responder Id: [0-9A-F]{40}\b/, 'by key: SHA-1 of the issuing CA key');
  });

  it('answers revoked with the time of the revocation, at once after revoke', async () => {
    const res = await h.api('/api/v1/devices/ocsp-stolen/revoke', {
      method: 'POST',
      body: { reason: 'reported stolen' },
    });
    assert.equal(res.status, 200, res.text);
    const [stored] = await h.vigil.devices.certificates('ocsp-stolen');
    assert.ok(stored?.revokedAt);
    const r = await ask(certFile('ocsp-stolen'));
    assert.ok(r.ok, r.text);
    assert.match(r.text, /ocsp-stolen\.pem: revoked/);
    const time = /Revocation Time: (.+ GMT)/.exec(r.text)?.[1];
    assert.equal(Date.parse(time ?? ''), Math.floor(stored.revokedAt / 1000) * 1000);
    // Vigil's free-text reason has no RFC 5280 code, so none is claimed.
    assert.doesNotMatch(r.text, /Reason:/);
  });

  it('answers good for a quarantined device, and revoked once it is revoked too', async () => {
    const q = await h.api('/api/v1/devices/ocsp-held/quarantine', {
      method: 'POST',
      body: { reason: 'odd readings' },
    });
    assert.equal(q.status, 200, q.text);
    // Quarantine is Vigil's own policy, enforced by its gateway; it is not a revocation.
    assert.match((await ask(certFile('ocsp-held'))).text, /ocsp-held\.pem: good/);
    const revoked = await h.api('/api/v1/devices/ocsp-held/revoke', {
      method: 'POST',
      body: { reason: 'confirmed tampering' },
    });
    assert.equal(revoked.status, 200, revoked.text);
    assert.match((await ask(certFile('ocsp-held'))).text, /ocsp-held\.pem: revoked/);
  });

  it('answers revoked with reason superseded for the certificate a re-enrolment replaced', async () => {
    const oldCert = certFile('ocsp-reenrolled');
    const { token } = await h.vigil.devices.createEnrollmentToken('ocsp-reenrolled', 600);
    creds['ocsp-reenrolled'] = await enrollDevice({
      serverUrl: h.baseUrl,
      caPem: h.caPem,
      deviceId: 'ocsp-reenrolled',
      token,
    });
    const old = await ask(oldCert);
    assert.ok(old.ok, old.text);
    assert.match(
      old.text,
      /ocsp-reenrolled\.pem: revoked\s+This Update: .*\s+Next Update: .*\s+Reason: superseded/,
    );
    assert.match((await ask(certFile('ocsp-reenrolled'))).text, /ocsp-reenrolled\.pem: good/);
  });

  it('answers unknown for a certificate of another CA, still signed by its own issuing CA', async () => {
    const other = await createDeviceCa({ organization: 'Elsewhere' });
    const { csrPem } = await createDeviceKeyAndCsr('ocsp-stranger');
    const stranger = await signDeviceCsr(other, csrPem, 'ocsp-stranger');
    const run = await opensslClient([
      'ocsp',
      '-issuer',
      file('other-issuing.pem', other.issuing.certPem),
      '-cert',
      file('stranger.pem', stranger.certificatePem),
      '-url',
      `${h.baseUrl}${OCSP}`,
      // The responder is not that CA: openssl is told to trust Vigil's issuing CA as responder.
      '-VAfile',
      issuingFile,
    ]);
    assert.ok(run.ok, run.stdout + run.stderr);
    assert.match(run.stdout, /stranger\.pem: unknown/);
  });

  it('hands out the same signed answer to a repeated request without a nonce, and a fresh one at once after revocation', async () => {
    const cert = certFile('ocsp-cached');
    const der = plainRequest(cert);
    const first = await post(der);
    const again = await post(der);
    assert.equal(first.status, 200);
    assert.deepEqual(again.body, first.body, 'byte for byte: one signature served twice');
    const got = await fetchBytes(`${h.baseUrl}${OCSP}/${encodeURIComponent(der.toString('base64'))}`, {
      ca: h.caPem,
    });
    assert.deepEqual(got.body, first.body, 'the GET form is answered from the same cache');
    assert.match(String(got.headers.etag), /^"[\w-]+"$/);
    assert.match(opensslReads(first.body, cert).stdout, /ocsp-cached\.pem: good/);

    const revoked = await h.api('/api/v1/devices/ocsp-cached/revoke', {
      method: 'POST',
      body: { reason: 'lost on the ward' },
    });
    assert.equal(revoked.status, 200, revoked.text);
    const after = await post(der);
    assert.notDeepEqual(after.body, first.body);
    const read = opensslReads(after.body, cert);
    assert.ok(read.ok, read.stdout + read.stderr);
    assert.match(read.stdout, /ocsp-cached\.pem: revoked/);
    assert.deepEqual((await post(der)).body, after.body, 'and the revoked answer is the one cached now');
  });

  it('answers the GET form, percent-encoded or not, with caching until nextUpdate', async () => {
    const made = openssl([
      'ocsp',
      '-issuer',
      issuingFile,
      '-cert',
      certFile('ocsp-good'),
      '-no_nonce',
      '-reqout',
      join(dir, 'req.der'),
    ]);
    assert.ok(made.ok, made.stderr);
    const base64 = readFileSync(join(dir, 'req.der')).toString('base64');
    for (const path of [encodeURIComponent(base64), base64]) {
      const res = await fetchBytes(`${h.baseUrl}${OCSP}/${path}`, { ca: h.caPem });
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'application/ocsp-response');
      assert.match(
        String(res.headers['cache-control']),
        /^public, max-age=(3[0-5]\d\d|3600), no-transform, must-revalidate$/,
      );
      assert.ok(res.headers.expires && res.headers['last-modified']);
      const checked = openssl([
        'ocsp',
        '-respin',
        file('get-resp.der', res.body),
        '-issuer',
        issuingFile,
        '-cert',
        certFile('ocsp-good'),
        '-CAfile',
        rootFile,
        '-no_nonce',
      ]);
      assert.ok(checked.ok, checked.stdout + checked.stderr);
      assert.match(checked.stdout, /ocsp-good\.pem: good/);
    }
  });

  it('answers malformedRequest (HTTP 200, unsigned, not cached) to garbage, and 415 to another media type', async () => {
    const post = (body: Buffer, contentType: string) =>
      fetchBytes(`${h.baseUrl}${OCSP}`, { ca: h.caPem, method: 'POST', body, contentType });
    const garbage = await post(Buffer.from('certainly not an OCSP request'), 'application/ocsp-request');
    assert.equal(garbage.status, 200);
    assert.equal(garbage.headers['content-type'], 'application/ocsp-response');
    assert.equal(garbage.body.toString('hex'), '30030a0101');
    assert.equal(garbage.headers['cache-control'], 'no-store');
    const badGet = await fetchBytes(`${h.baseUrl}${OCSP}/not%20base64`, { ca: h.caPem });
    assert.equal(badGet.status, 200);
    assert.equal(badGet.body.toString('hex'), '30030a0101');
    assert.equal(badGet.headers['cache-control'], 'no-store');
    const json = await post(Buffer.from('{}'), 'application/json');
    assert.equal(json.status, 415);
    assert.match(json.body.toString(), /application\/ocsp-request/);
    const huge = await post(Buffer.alloc(9 * 1024, 0x30), 'application/ocsp-request');
    assert.equal(huge.status, 413);
  });

  it('counts answers by OCSP status and certificate status in /metrics', async () => {
    const res = await h.api('/metrics');
    assert.equal(res.status, 200, res.text);
    assert.match(res.text, /vigil_ocsp_responses_total\{status="successful"\} [1-9]/);
    assert.match(res.text, /vigil_ocsp_responses_total\{status="malformedRequest"\} [1-9]/);
    for (const status of ['good', 'revoked', 'unknown']) {
      assert.match(
        res.text,
        new RegExp(`vigil_ocsp_certificate_statuses_total\\{status="${status}"\\} [1-9]`),
      );
    }
  });

  it('names no OCSP responder in device certificates without VIGIL_PUBLIC_URL', () => {
    const cert = new x509.X509Certificate(leafOf(creds['ocsp-good']?.certPem ?? ''));
    assert.equal(cert.getExtension(x509.AuthorityInfoAccessExtension), null);
  });

  // Last in this group: it spends this address's fresh signatures for the rest of the minute.
  it(`past ${DEFAULT_OCSP_THROTTLE.refusalsPerWindow} fresh signatures a minute: 429 with Retry-After, cached answers still served, a nonce request answered without its nonce`, async () => {
    const goodCert = certFile('ocsp-good');
    const cachedAnswer = await post(plainRequest(goodCert));
    const agent = new Agent({ keepAlive: true, ca: h.caPem });
    let refused: Awaited<ReturnType<typeof fetchBytes>> | undefined;
    try {
      // Serials Vigil never issued: each a cache miss, answered unknown and signed for it.
      for (let i = 0; i <= DEFAULT_OCSP_THROTTLE.refusalsPerWindow && refused === undefined; i++) {
        const serialHex = `7e${i.toString(16).padStart(8, '0')}`;
        const res = await post(
          ocspRequestDer([{ issuerPem: readFileSync(issuingFile, 'utf8'), serialHex }]),
          agent,
        );
        if (res.status !== 200) refused = res;
      }
    } finally {
      agent.destroy();
    }
    assert.ok(refused, 'a refusal within the budget and one more');
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal((JSON.parse(refused.body.toString()) as { code: string }).code, 'VIGIL_ERR_OCSP_THROTTLED');
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${refused.headers['retry-after']}`);

    const cached = await post(plainRequest(goodCert));
    assert.equal(cached.status, 200);
    assert.deepEqual(cached.body, cachedAnswer.body);
    // openssl sends a nonce by default; the answer it gets is the cached one, without it.
    const withNonce = await ask(goodCert);
    assert.ok(withNonce.ok, withNonce.text);
    assert.match(withNonce.text, /WARNING: no nonce in response/);
    assert.match(withNonce.text, /Response verify OK/);
    assert.match(withNonce.text, /ocsp-good\.pem: good/);
    const uncached = await ask(certFile('ocsp-reenrolled'));
    assert.equal(uncached.ok, false);
    assert.match(uncached.text, /429/);

    const metrics = await h.api('/metrics');
    assert.match(metrics.text, /vigil_refusals_total\{code="VIGIL_ERR_OCSP_THROTTLED"\} [1-9]/);
    assert.match(metrics.text, /vigil_ocsp_successful_answers_total\{source="cache"\} [1-9]/);
  });
});

describe('OCSP responder address in device certificates', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: { VIGIL_PUBLIC_URL: `${PUBLIC_URL}/` } });
  });
  after(() => h.stop());

  it('names <public url>/api/v1/pki/ocsp in a non-critical authority information access extension', async () => {
    const creds = await h.enrol('aia-pump');
    const cert = new x509.X509Certificate(leafOf(creds.certPem));
    const aia = cert.getExtension(x509.AuthorityInfoAccessExtension);
    assert.equal(aia?.critical, false);
    assert.deepEqual(
      aia?.ocsp.map((name) => name.value),
      [`${PUBLIC_URL}${OCSP}`],
    );
    // What a relying party's OpenSSL reads from it.
    const uri = openssl(['x509', '-noout', '-ocsp_uri'], { input: leafOf(creds.certPem) });
    assert.equal(uri.stdout.trim(), `${PUBLIC_URL}${OCSP}`);
  });
});

/** An HTTPS request whose answer body is kept as bytes (OCSP answers are DER). */
function fetchBytes(
  url: string,
  opts: { ca: string; method?: string; body?: Buffer; contentType?: string; agent?: Agent },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        ca: opts.ca,
        agent: opts.agent ?? false,
        headers: opts.body
          ? {
              'content-type': opts.contentType ?? 'application/octet-stream',
              'content-length': opts.body.length,
            }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}
