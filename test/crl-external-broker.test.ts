/**
 * The device CA's revocation list, end to end: a device revoked in Vigil is refused by a
 * broker Vigil does not run. Debian's Mosquitto trusts Vigil's device CA and loads the CRL from
 * `GET /api/v1/pki/crl?format=pem` as its `crlfile`; a device with a good certificate connects
 * and publishes, the revoked one fails the TLS handshake.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort, waitForListener } from '../bench/loopback.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { loadMasterKeyFile } from '../src/crypto/master-key.ts';
import { loadDeviceCa, loadServerTls } from '../src/devices/device-ca.ts';
import type { EnrolledCredentials } from '../src/devices/enroll-client.ts';
import { RevocationList } from '../src/devices/revocation-list.ts';
import { x509 } from '../src/pki/x509-library.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

function getBytes(url: string, ca: string): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type']),
          body: Buffer.concat(parts),
        }),
      );
    }).on('error', reject);
  });
}

describe('device revocation list (CRL) with an external broker', () => {
  let h: Harness;
  let dir: string;
  let broker: ChildProcess | undefined;
  const creds: Record<string, EnrolledCredentials> = {};

  before(async () => {
    h = await startHarness();
    dir = mkdtempSync(join(tmpdir(), 'vigil-crl-'));
    for (const id of ['crl-good', 'crl-stolen']) creds[id] = await h.enrol(id);
  });
  after(async () => {
    broker?.kill('SIGKILL');
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const crl = async () => {
    const r = await getBytes(`${h.baseUrl}/api/v1/pki/crl`, h.caPem);
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/pkix-crl');
    return new x509.X509Crl(r.body);
  };
  const serialOf = (id: string) => new x509.X509Certificate(creds[id]?.certPem ?? '').serialNumber;

  it('serves a signed CRL without credentials, and a revocation reaches it at once', async () => {
    const first = await crl();
    assert.equal(first.entries.length, 0);
    const revoked = await h.api('/api/v1/devices/crl-stolen/revoke', {
      method: 'POST',
      body: { reason: 'reported stolen' },
    });
    assert.equal(revoked.status, 200, revoked.text);
    const second = await crl();
    assert.deepEqual(
      second.entries.map((e) => e.serialNumber),
      [serialOf('crl-stolen')],
    );
    // Signed by the issuing CA, the issuer of every device certificate.
    const issuer = new x509.X509Certificate(creds['crl-good']?.certPem ?? '').issuer;
    assert.equal(second.issuer, issuer);
    const issuing = (creds['crl-good']?.certPem ?? '')
      .split(/(?=-----BEGIN CERTIFICATE-----)/)
      .map((pem) => new x509.X509Certificate(pem))
      .find((c) => c.subject === issuer);
    assert.ok(issuing, 'enrolment handed out the issuing CA with the certificate');
    assert.ok(await second.verify({ publicKey: issuing.publicKey }));
    const number = (c: x509.X509Crl) => c.getExtension('2.5.29.20')?.value;
    assert.notDeepEqual(number(first), number(second), 'each list has its own CRL number');
    const bad = await h.api('/api/v1/pki/crl?format=xml');
    assert.equal(bad.status, 400);
    assert.match(String(bad.headers['content-type']), /problem\+json/);
  });

  it('signs again only after a change or its refresh time, with a CRL number that always rises', async () => {
    const store = h.vigil.store;
    const ca = await loadDeviceCa(store.db, new KeyRing(store.db, loadMasterKeyFile(h.config.masterKeyFile)));
    let now = Date.now() + 60_000;
    const list = new RevocationList({
      db: store.db,
      ca,
      clock: () => now,
      refreshMs: 1000,
    });
    const number = async () => {
      const crl = new x509.X509Crl((await list.get()).der);
      return BigInt(
        `0x${Buffer.from(crl.getExtension('2.5.29.20')?.value ?? new ArrayBuffer(0))
          .subarray(2)
          .toString('hex')}`,
      );
    };
    const first = await list.get();
    now += 999;
    assert.equal(await list.get(), first, 'cached within the refresh time');
    now += 1;
    const refreshed = await list.get();
    assert.notEqual(refreshed, first);
    assert.equal(refreshed.thisUpdateMs, now);
    assert.equal(refreshed.nextUpdateMs, now + 24 * 3_600_000);
    const before = await number();
    assert.equal(before, BigInt(now));
    now -= 3_600_000; // the clock goes back an hour
    list.invalidate();
    assert.equal(await number(), before + 1n);
  });

  it('makes Mosquitto refuse the revoked device and accept the other', async () => {
    const pem = await h.api('/api/v1/pki/crl?format=pem');
    assert.equal(pem.status, 200);
    assert.match(pem.text, /^-----BEGIN X509 CRL-----\n/);
    const store = h.vigil.store;
    const tls = await loadServerTls(
      store.db,
      new KeyRing(store.db, loadMasterKeyFile(h.config.masterKeyFile)),
    );
    const port = await freeLoopbackPort();
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text, { mode: 0o600 });
      return join(dir, name);
    };
    const conf = file(
      'mosquitto.conf',
      [
        `listener ${port} 127.0.0.1`,
        `cafile ${file('ca.pem', h.caPem)}`,
        `certfile ${file('server.pem', `${tls.certPem.trim()}\n${tls.chainPem}`)}`,
        `keyfile ${file('server.key', tls.keyPem)}`,
        `crlfile ${file('crl.pem', pem.text)}`,
        'require_certificate true',
        'use_identity_as_username true',
        'allow_anonymous false',
        'persistence false',
        // As root, Mosquitto would switch to the "mosquitto" user and lose these 0600 files.
        `user ${userInfo().username}`,
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        '',
      ].join('\n'),
    );
    let log = '';
    const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    broker = child;
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
    });
    await waitForListener(port, {
      name: 'mosquitto',
      timeoutMs: 5000,
      exited: () => child.exitCode !== null,
      log: () => log,
    });

    // The harness's client, pointed at Mosquitto's port instead of Vigil's.
    const connect = (id: string) => h.connect(creds[id] as EnrolledCredentials, id, { port });

    const good = await connect('crl-good');
    // Mosquitto, not Vigil's gateway: it grants a wildcard subscription Vigil would refuse.
    const [granted] = await good.subscribeAsync('#', { qos: 1 });
    assert.equal(granted?.qos, 1);
    await good.publishAsync('v1/devices/crl-good/telemetry', '{}', { qos: 1 });
    good.end(true);
    await assert.rejects(connect('crl-stolen'), /revoked|closed before CONNACK|ECONNRESET|socket hang up/);
  });
});
