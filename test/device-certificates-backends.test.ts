/**
 * "A device holds one valid certificate", and a certificate renews once, also when issuances,
 * renewals and revocations for one device run at the same time: on SQLite and on PostgreSQL
 * (READ COMMITTED, where each statement sees its own snapshot). And the revocation facts the
 * OCSP responder reads, the same on both.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeviceStore, type NewCertificate } from '../src/devices/devices.store.ts';
import { isVigilError } from '../src/errors/catalogue.ts';
import type { Store } from '../src/store/database.ts';
import { BACKENDS } from './support/backends.ts';

const code = (c: string) => (e: unknown) => isVigilError(e) && e.code === c;
const QUOTA = { perDay: 5 };
const certificate = (deviceId: string, serial: string): NewCertificate => ({
  serial,
  deviceId,
  fingerprint: `fp-${serial}`,
  notBefore: 0,
  notAfter: Date.now() + 1e9,
});

for (const backend of BACKENDS) {
  describe(`device certificates on ${backend.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let devices: DeviceStore;
    before(async () => {
      ({ store, cleanup } = await backend.open());
      devices = new DeviceStore(store.db);
    });
    after(() => cleanup());

    const enrolled = async (deviceId: string) => {
      await devices.add({ id: deviceId, model: 'm', serial: 's' });
      await devices.recordCertificate(certificate(deviceId, `${deviceId}-0`));
    };
    const valid = async (deviceId: string) =>
      (await devices.certificates(deviceId)).filter((c) => c.revokedAt === null).map((c) => c.serial);

    it('leaves one valid certificate after concurrent enrolments', async () => {
      await enrolled('cb-1');
      for (let round = 0; round < 10; round++) {
        await Promise.all(
          Array.from({ length: 4 }, (_, i) =>
            devices.recordCertificate(certificate('cb-1', `cb-1-r${round}i${i}`)),
          ),
        );
        assert.equal((await valid('cb-1')).length, 1, `round ${round}`);
      }
    });

    it('renews the presented certificate once, whatever runs alongside', async () => {
      await enrolled('cb-2');
      const outcomes = await Promise.allSettled(
        Array.from({ length: 4 }, (_, i) =>
          devices.recordRenewal(certificate('cb-2', `cb-2-n${i}`), 'cb-2-0', QUOTA),
        ),
      );
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      for (const o of outcomes) {
        if (o.status === 'rejected') assert.ok(code('VIGIL_ERR_TLS_REVOKED')(o.reason), String(o.reason));
      }
      const serials = await valid('cb-2');
      assert.equal(serials.length, 1);
      assert.notEqual(serials[0], 'cb-2-0');
    });

    it('refuses to renew a revoked certificate, and a revocation racing a renewal wins', async () => {
      await enrolled('cb-3');
      await devices.revokeCertificates('cb-3', 'stolen');
      await assert.rejects(
        devices.recordRenewal(certificate('cb-3', 'cb-3-1'), 'cb-3-0', QUOTA),
        code('VIGIL_ERR_TLS_REVOKED'),
      );
      assert.deepEqual(await valid('cb-3'), []);

      await enrolled('cb-4');
      // The window is a few statements wide; enough rounds that a missing lock shows.
      for (let round = 0; round < 60; round++) {
        const presented = (await valid('cb-4'))[0] ?? 'none';
        await Promise.allSettled([
          devices.recordRenewal(certificate('cb-4', `cb-4-${round}`), presented, { perDay: 100 }),
          devices.revokeCertificates('cb-4', 'stolen'),
        ]);
        assert.deepEqual(await valid('cb-4'), [], `round ${round}`);
        await devices.recordCertificate(certificate('cb-4', `cb-4-e${round}`));
      }
    });

    it('refuses a quarantined device and a spent daily quota', async () => {
      await enrolled('cb-5');
      await devices.quarantine('cb-5', 'tampering', 'user:security');
      await assert.rejects(
        devices.recordRenewal(certificate('cb-5', 'cb-5-1'), 'cb-5-0', QUOTA),
        code('VIGIL_ERR_DEVICE_QUARANTINED'),
      );
      await devices.release('cb-5', 'user:security');
      let presented = 'cb-5-0';
      for (let i = 1; i < QUOTA.perDay; i++) {
        await devices.recordRenewal(certificate('cb-5', `cb-5-${i}`), presented, QUOTA);
        presented = `cb-5-${i}`;
      }
      await assert.rejects(
        devices.recordRenewal(certificate('cb-5', 'cb-5-x'), presented, QUOTA),
        code('VIGIL_ERR_ENROLL_TOO_OFTEN'),
      );
      assert.deepEqual(await valid('cb-5'), [presented], 'a refusal leaves the presented certificate valid');
      assert.equal((await devices.certificates('cb-5')).length, QUOTA.perDay);
    });

    it('tells the OCSP responder which serials are good, which revoked, and knows no others', async () => {
      await enrolled('cb-6');
      await devices.recordCertificate(certificate('cb-6', 'cb-6-1'), 1_700_000_000_123);
      await enrolled('cb-7');
      await devices.revokeCertificates('cb-7', 'reported stolen', 1_700_000_100_000);
      await enrolled('cb-8');
      await devices.quarantine('cb-8', 'tampering', 'user:security');
      const status = await devices.certificateStatus([
        'cb-6-0',
        'cb-6-1',
        'cb-7-0',
        'cb-8-0',
        'never-issued',
      ]);
      assert.deepEqual(
        [...status].sort(([a], [b]) => a.localeCompare(b)),
        [
          ['cb-6-0', { revokedAtMs: 1_700_000_000_123, reason: 'superseded' }],
          ['cb-6-1', { revokedAtMs: null, reason: null }],
          ['cb-7-0', { revokedAtMs: 1_700_000_100_000, reason: 'reported stolen' }],
          // Quarantine is Vigil's own policy, not a revocation.
          ['cb-8-0', { revokedAtMs: null, reason: null }],
        ],
      );
      assert.equal((await devices.certificateStatus([])).size, 0);
    });
  });
}
