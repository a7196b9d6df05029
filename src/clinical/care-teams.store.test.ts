import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from '../../test/support/backends.ts';
import { KeyRing } from '../crypto/key-ring.ts';
import { isVigilError } from '../errors/catalogue.ts';
import { CareTeamStore } from './care-teams.store.ts';
import { PatientStore } from './patients.store.ts';

const code = (c: string) => (e: unknown) => isVigilError(e) && e.code === c;

for (const backend of BACKENDS) {
  describe(`care teams on ${backend.name}`, () => {
    let teams: CareTeamStore;
    let cleanup: () => Promise<void>;
    before(async () => {
      const opened = await backend.open();
      cleanup = opened.cleanup;
      const patients = new PatientStore(
        opened.store.db,
        new KeyRing(opened.store.db, { id: 'mk', key: randomBytes(32) }),
      );
      await patients.add('p-1', { name: 'Ada Okafor' });
      teams = new CareTeamStore(opened.store.db);
    });
    after(() => cleanup());

    it('keeps members in the order given: the escalation order', async () => {
      await teams.create('night', 'Night shift');
      await teams.setMembers('night', ['nurse-b', 'nurse-a', 'dr-c']);
      await teams.addPatient('night', 'p-1');
      await teams.addPatient('night', 'p-1');
      assert.deepEqual(await teams.escalationOrder('p-1'), ['nurse-b', 'nurse-a', 'dr-c']);
      assert.deepEqual((await teams.get('night')).patients, ['p-1']);
      await teams.setMembers('night', ['dr-c']);
      assert.deepEqual(await teams.escalationOrder('p-1'), ['dr-c']);
    });

    it('takes a patient out of a team', async () => {
      await teams.removePatient('night', 'p-1');
      assert.deepEqual(await teams.escalationOrder('p-1'), []);
    });

    it('refuses duplicates, unknown teams and patients, and bad ids', async () => {
      await assert.rejects(teams.create('night', 'Again'), code('VIGIL_ERR_CARE_TEAM_EXISTS'));
      await assert.rejects(teams.setMembers('day', ['x']), code('VIGIL_ERR_CARE_TEAM_UNKNOWN'));
      await assert.rejects(teams.addPatient('night', 'p-404'), code('VIGIL_ERR_PATIENT_UNKNOWN'));
      await assert.rejects(teams.setMembers('night', ['a', 'a']), code('VIGIL_ERR_REQUEST_INVALID'));
      await assert.rejects(teams.setMembers('night', ['bad id']), code('VIGIL_ERR_REQUEST_INVALID'));
      await assert.rejects(teams.create('x y', 'Bad'), code('VIGIL_ERR_REQUEST_INVALID'));
    });
  });
}
