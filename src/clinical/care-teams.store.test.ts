import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from '../../test/support/backends.ts';
import { UserStore } from '../access/users.store.ts';
import { KeyRing } from '../crypto/key-ring.ts';
import { isVigilError } from '../errors/catalogue.ts';
import { CareTeamStore } from './care-teams.store.ts';
import { PatientStore } from './patients.store.ts';

const code = (c: string) => (e: unknown) => isVigilError(e) && e.code === c;

for (const backend of BACKENDS) {
  describe(`care teams on ${backend.name}`, () => {
    let teams: CareTeamStore;
    let users: UserStore;
    let cleanup: () => Promise<void>;
    before(async () => {
      const opened = await backend.open();
      cleanup = opened.cleanup;
      const keys = new KeyRing(opened.store.db, { id: 'mk', key: randomBytes(32) });
      const patients = new PatientStore(opened.store.db, keys);
      users = new UserStore(opened.store.db, keys);
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

    it('passes over a member whose account was disabled after the team was saved', async () => {
      const ids: Record<string, string> = {};
      for (const username of ['nurse-d', 'nurse-e', 'dr-f'])
        ids[username] = (await users.create({ username, role: 'clinician' })).user.id;
      await teams.create('weekend', 'Weekend');
      await teams.setMembers('weekend', ['nurse-d', 'nurse-e', 'dr-f']);
      await teams.addPatient('weekend', 'p-1');
      const order = async () => (await teams.escalationOrder('p-1')).filter((m) => ids[m] !== undefined);
      assert.deepEqual(await order(), ['nurse-d', 'nurse-e', 'dr-f']);
      await users.setDisabled(ids['nurse-d'] as string, true);
      assert.deepEqual(await order(), ['nurse-e', 'dr-f'], 'an alert is not handed to a disabled account');
      await users.setDisabled(ids['nurse-d'] as string, false);
      assert.deepEqual(await order(), ['nurse-d', 'nurse-e', 'dr-f']);
      await teams.removePatient('weekend', 'p-1');
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
