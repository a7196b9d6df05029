import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { AuditLog } from '../src/audit/audit-log.ts';
import { PatientStore } from '../src/clinical/patients.store.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { DeviceDirectory } from '../src/devices/device-directory.ts';
import { DeviceStore } from '../src/devices/devices.store.ts';
import { isVigilError } from '../src/errors/catalogue.ts';
import type { Store } from '../src/store/database.ts';
import { BACKENDS } from './support/backends.ts';

const code = (c: string) => (e: unknown) => isVigilError(e) && e.code === c;

/** The same domain code, the same expectations, on SQLite and on PostgreSQL (STYLE.md §7). */
for (const backend of BACKENDS) {
  describe(`domain stores on ${backend.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let keys: KeyRing;
    before(async () => {
      ({ store, cleanup } = await backend.open());
      keys = new KeyRing(store.db, { id: 'mk-test', key: randomBytes(32) });
    });
    after(() => cleanup());

    it('seals patient identity and opens it again', async () => {
      const patients = new PatientStore(store.db, keys);
      await patients.add('p-1', { name: 'Ada Okafor', birthDate: '1948-03-11' });
      const row = await store.db
        .selectFrom('patients')
        .select('sealed_identity')
        .where('id', '=', 'p-1')
        .executeTakeFirstOrThrow();
      assert.ok(!Buffer.from(row.sealed_identity).includes(Buffer.from('Okafor')));
      assert.equal((await patients.get('p-1'))?.name, 'Ada Okafor');
      await assert.rejects(patients.add('p-1', { name: 'Again' }), code('VIGIL_ERR_PATIENT_EXISTS'));
    });

    it('keeps one data key per patient, also when two callers race to create it', async () => {
      const other = new KeyRing(store.db, {
        id: 'mk-test',
        key: (keys as unknown as { master: { key: Buffer } }).master.key,
      });
      const [a, b] = await Promise.all([
        keys.dataKey('patient', 'p-race'),
        other.dataKey('patient', 'p-race'),
      ]);
      assert.deepEqual(a, b);
    });

    it('registers, assigns and reassigns devices with history', async () => {
      const devices = new DeviceStore(store.db);
      await new PatientStore(store.db, keys).add('p-2', { name: 'Bram Novak' });
      await devices.add({ id: 'd-1', model: 'Ox', serial: 'S1' });
      await devices.assign('d-1', 'p-1', 1000);
      await devices.assign('d-1', 'p-2', 5000);
      assert.deepEqual(await devices.assignments('d-1'), [
        { patientId: 'p-1', fromMs: 1000, toMs: 5000 },
        { patientId: 'p-2', fromMs: 5000, toMs: null },
      ]);
      const directory = new DeviceDirectory(devices);
      await directory.refresh();
      assert.equal(directory.patientAt('d-1', 4999), 'p-1');
      assert.equal(directory.patientAt('d-1', 5000), 'p-2');
      assert.equal(directory.patientAt('d-1', 999), undefined);
      await assert.rejects(
        devices.add({ id: 'd-1', model: 'Ox', serial: 'S1' }),
        code('VIGIL_ERR_DEVICE_EXISTS'),
      );
      await assert.rejects(devices.assign('d-1', 'nobody'), code('VIGIL_ERR_PATIENT_UNKNOWN'));
    });

    it('spends an enrollment token once, and never after it expires', async () => {
      const devices = new DeviceStore(store.db);
      const { token } = await devices.createEnrollmentToken('d-1', 60, 10_000);
      await assert.rejects(
        devices.consumeEnrollmentToken('d-1', token, 10_000 + 61_000),
        code('VIGIL_ERR_ENROLL_BAD_TOKEN'),
      );
      const fresh = await devices.createEnrollmentToken('d-1', 60);
      await assert.rejects(
        devices.consumeEnrollmentToken('other', fresh.token),
        code('VIGIL_ERR_ENROLL_BAD_TOKEN'),
      );
      const results = await Promise.allSettled([
        devices.consumeEnrollmentToken('d-1', fresh.token),
        devices.consumeEnrollmentToken('d-1', fresh.token),
      ]);
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    });

    it('supersedes the old certificate when a device enrols again', async () => {
      const devices = new DeviceStore(store.db);
      await devices.recordCertificate({
        serial: 'aa01',
        deviceId: 'd-1',
        fingerprint: 'f1',
        notBefore: 0,
        notAfter: 10,
      });
      await devices.recordCertificate({
        serial: 'aa02',
        deviceId: 'd-1',
        fingerprint: 'f2',
        notBefore: 0,
        notAfter: 20,
      });
      const directory = new DeviceDirectory(devices);
      await directory.refresh();
      assert.equal(directory.certificateStanding('aa01', 'd-1'), 'revoked');
      assert.equal(directory.certificateStanding('aa02', 'd-1'), 'valid');
      assert.equal(directory.certificateStanding('aa02', 'd-other'), 'unknown');
      assert.equal((await devices.get('d-1'))?.status, 'active');
    });

    it("lists a device's certificates newest first, and voids its unused enrollment tokens", async () => {
      const devices = new DeviceStore(store.db);
      await devices.add({ id: 'd-c', model: 'Ox', serial: 'S-c' });
      const cert = { deviceId: 'd-c', fingerprint: 'f', notBefore: 0, notAfter: 10 };
      await devices.recordCertificate({ ...cert, serial: 'c1' }, 1000);
      await devices.recordCertificate({ ...cert, serial: 'c2' }, 2000);
      assert.equal(await devices.revokeCertificates('d-c', 'stolen', 3000), 1);
      const certs = await devices.certificates('d-c');
      assert.deepEqual(
        certs.map((c) => [c.serial, c.revokedAt, c.revokeReason]),
        [
          ['c2', 3000, 'stolen'],
          ['c1', 2000, 'superseded'],
        ],
      );
      const { token } = await devices.createEnrollmentToken('d-c', 600);
      assert.equal(await devices.voidEnrollmentTokens('d-c'), 1);
      await assert.rejects(devices.consumeEnrollmentToken('d-c', token), /already used|unknown/);
    });

    it('verifies bearer tokens, and refuses expired, revoked and forged ones', async () => {
      const tokens = new ApiTokens(store.db);
      const t = await tokens.create({ role: 'clinician', name: 'ward', ttlSeconds: 60 });
      assert.equal((await tokens.verify(t.token)).role, 'clinician');
      const forged = `${t.token.slice(0, -4)}AAAA`;
      await assert.rejects(tokens.verify(forged), code('VIGIL_ERR_AUTH_REQUIRED'));
      await assert.rejects(tokens.verify(t.token, Date.now() + 61_000), code('VIGIL_ERR_AUTH_REQUIRED'));
      await tokens.revoke(t.id);
      await assert.rejects(tokens.verify(t.token), code('VIGIL_ERR_AUTH_REQUIRED'));
      await assert.rejects(
        tokens.create({ role: 'root', name: 'x', ttlSeconds: 60 }),
        code('VIGIL_ERR_REQUEST_INVALID'),
      );
    });

    it('chains audit entries and finds an edited one', async () => {
      const audit = new AuditLog(store.db);
      await Promise.all(
        [1, 2, 3, 4].map((n) =>
          audit.append({
            actor: `a${n}`,
            action: 'observation.read',
            resource: 'Patient/p-1',
            outcome: 'success',
            patientId: 'p-1',
          }),
        ),
      );
      const intact = await audit.verify();
      assert.equal(intact.entries, 4);
      assert.equal(intact.intact, true);
      assert.equal(intact.brokenAt, undefined);
      await store.db.updateTable('audit_log').set({ actor: 'mallory' }).where('seq', '=', 3).execute();
      assert.equal((await audit.verify()).brokenAt, 3);
    });
  });
}
