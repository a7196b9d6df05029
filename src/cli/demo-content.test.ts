/** The demo's posture and consent content on both backends: real findings, and nothing twice. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { BACKENDS } from '../../test/support/backends.ts';
import { PatientAccess } from '../access/patient-access.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { PatientStore } from '../clinical/patients.store.ts';
import { KeyRing } from '../crypto/key-ring.ts';
import { DeviceStore } from '../devices/devices.store.ts';
import { PostureStore } from '../posture/posture.store.ts';
import { postureReport } from '../posture/posture-service.ts';
import { seedDemoConsents, seedDemoPosture } from './demo-content.ts';

const NOW = Date.parse('2026-11-27T10:00:00Z');

for (const backend of BACKENDS) {
  describe(`demo content on ${backend.name}`, () => {
    it('puts the sim models, SBOMs and advisories in posture once, so sim devices carry findings', async () => {
      const { store, cleanup } = await backend.open();
      try {
        const devices = new DeviceStore(store.db);
        await devices.add({ id: 'sim-cgm-001', model: 'SimCGM G7', serial: 'SN1' });
        await devices.updateStatus('sim-cgm-001', { firmware: '3.2.1', seenMs: NOW });
        await devices.add({ id: 'sim-bp-cuff-003', model: 'SimBP 5', serial: 'SN3' });
        await devices.updateStatus('sim-bp-cuff-003', { firmware: '2.0.4', seenMs: NOW });
        const audit = new AuditLog(store.db);
        const first = await seedDemoPosture(store.db, store.sqlite, audit, NOW);
        assert.deepEqual(first, { models: 4, sboms: 4, advisoryFiles: 6 });
        const again = await seedDemoPosture(store.db, store.sqlite, audit, NOW);
        assert.deepEqual(again, { models: 4, sboms: 0, advisoryFiles: 0 });

        const report = await postureReport(new PostureStore(store.db, store.sqlite), NOW);
        const cgm = report.devices.find((d) => d.id === 'sim-cgm-001');
        assert.equal(cgm?.findings.length, 3);
        const bp = report.devices.find((d) => d.id === 'sim-bp-cuff-003');
        assert.equal(bp?.findings.length, 0);
        assert.equal(bp?.support.state, 'legacy');
      } finally {
        await cleanup();
      }
    });

    it('records treatment consent for every sim patient, a research refusal for the first, once', async () => {
      const { store, cleanup } = await backend.open();
      try {
        const patients = new PatientStore(
          store.db,
          new KeyRing(store.db, { id: 'mk-t', key: randomBytes(32) }),
        );
        for (const id of ['sim-patient-002', 'sim-patient-001', 'walk-in-1'])
          await patients.add(id, { name: 'Demo Patient' }, NOW);
        const audit = new AuditLog(store.db);
        const ids = ['sim-patient-002', 'sim-patient-001', 'walk-in-1'];
        assert.equal(await seedDemoConsents(store.db, store.sqlite, audit, ids), 3);
        assert.equal(await seedDemoConsents(store.db, store.sqlite, audit, ids), 0);
        const access = new PatientAccess(store.db);
        const first = await access.consents('sim-patient-001');
        assert.deepEqual(
          first.map((c) => `${c.decision} ${c.purposes.join()} ${c.categories.join()}`).sort(),
          ['deny research *', 'permit treatment *'],
        );
        assert.equal((await access.consents('sim-patient-002')).length, 1);
        assert.equal((await access.consents('walk-in-1')).length, 0, 'only sim patients get demo consent');
      } finally {
        await cleanup();
      }
    });
  });
}
