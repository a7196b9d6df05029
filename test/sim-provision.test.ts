/**
 * The simulator's devices keep their certificates current as real ones should: reused while
 * they have time left, renewed over mutual TLS in their last 30 days, enrolled afresh once
 * expired, and left alone when an administrator revoked them.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { provisionSimDevices } from '../src/cli/sim-provision.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { loadMasterKeyFile } from '../src/crypto/master-key.ts';
import type { EnrolledCredentials } from '../src/devices/enroll-client.ts';
import { certificateInfo } from '../src/pki/certificate-info.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

const DAY_MS = 86_400_000;
const DEVICE = 'sim-cgm-001';

describe('simulated device credentials', () => {
  let h: Harness;
  const failures: string[] = [];
  const provision = (nowMs = Date.now(), count = 1) =>
    provisionSimDevices({
      db: h.vigil.store.db,
      keys: new KeyRing(h.vigil.store.db, loadMasterKeyFile(h.config.masterKeyFile)),
      dataDir: h.dataDir,
      serverUrl: h.baseUrl,
      caPem: h.caPem,
      count,
      nowMs,
      onRenewalFailed: (id, reason) => failures.push(`${id}: ${reason}`),
    });
  const stored = () =>
    JSON.parse(
      readFileSync(join(h.dataDir, 'sim', DEVICE, 'credentials.json'), 'utf8'),
    ) as EnrolledCredentials;
  const serialOf = (c: EnrolledCredentials) => certificateInfo(c.certPem).serialHex;

  before(async () => {
    h = await startHarness();
  });
  after(() => h.stop());

  it('reuses credentials with time left', async () => {
    const [first] = await provision();
    const [again] = await provision(Date.now() + 300 * DAY_MS);
    assert.ok(first && again);
    assert.equal(serialOf(again), serialOf(first));
  });

  it('renews in the last 30 days, keeping the new pair on disk, and the old certificate is revoked', async () => {
    const before = stored();
    const notAfter = certificateInfo(before.certPem).notAfter.getTime();
    const [renewed] = await provision(notAfter - 20 * DAY_MS);
    assert.ok(renewed);
    assert.notEqual(serialOf(renewed), serialOf(before));
    assert.notEqual(renewed.keyPem, before.keyPem);
    assert.equal(serialOf(stored()), serialOf(renewed));
    const revoked = await h.vigil.devices.revokedCertificates();
    assert.ok(revoked.some((r) => r.serial === serialOf(before)));
    assert.deepEqual(failures, []);
  });

  it('enrols again once expired, since an expired certificate cannot ask for renewal', async () => {
    const before = stored();
    const [fresh] = await provision(certificateInfo(before.certPem).notAfter.getTime() + DAY_MS);
    assert.ok(fresh);
    assert.notEqual(serialOf(fresh), serialOf(before));
    assert.deepEqual(failures, []);
  });

  it('leaves a revoked device revoked and says so', async () => {
    const before = stored();
    await h.vigil.devices.revokeCertificates(DEVICE, 'lost');
    const [kept] = await provision(certificateInfo(before.certPem).notAfter.getTime() + DAY_MS);
    assert.ok(kept);
    assert.equal(serialOf(kept), serialOf(before));
    assert.equal(failures.length, 1);
    assert.match(failures[0] ?? '', /^sim-cgm-001: its certificate is revoked/);
  });

  it('enrols again when its credentials file was cut short (a crash while writing), instead of failing every start', async () => {
    const provisionTwo = () => provision(Date.now(), 2);
    const [, first] = await provisionTwo();
    assert.ok(first);
    const file = join(h.dataDir, 'sim', first.deviceId, 'credentials.json');
    writeFileSync(file, readFileSync(file, 'utf8').slice(0, 100));
    const [, again] = await provisionTwo();
    assert.ok(again);
    assert.notEqual(serialOf(again), serialOf(first));
    const onDisk = JSON.parse(readFileSync(file, 'utf8')) as EnrolledCredentials;
    assert.equal(serialOf(onDisk), serialOf(again));
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });
});
