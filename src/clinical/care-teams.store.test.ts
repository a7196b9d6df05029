import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from '../../test/support/backends.ts';
import { ApiTokens } from '../access/api-tokens.ts';
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
    let tokens: ApiTokens;
    let cleanup: () => Promise<void>;
    before(async () => {
      const opened = await backend.open();
      cleanup = opened.cleanup;
      const keys = new KeyRing(opened.store.db, { id: 'mk', key: randomBytes(32) });
      const patients = new PatientStore(opened.store.db, keys);
      users = new UserStore(opened.store.db, keys);
      tokens = new ApiTokens(opened.store.db);
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

    /** A team of a live pager token between two enabled users, on patient p-1, as saved at T0. */
    const teamWithPager = async (teamId: string, pager: string) => {
      const T0 = Date.UTC(2026, 11, 4, 22, 0);
      const [nurse, doctor] = [`nurse-${teamId}`, `dr-${teamId}`];
      const names = [nurse, pager, doctor];
      for (const username of [nurse, doctor]) await users.create({ username, role: 'clinician' });
      const token = await tokens.create({ role: 'clinician', name: pager, ttlSeconds: 3600 }, T0);
      await teams.create(teamId, teamId);
      await teams.setMembers(teamId, (await teams.checkMembers(names, T0)).members);
      await teams.addPatient(teamId, 'p-1');
      const order = async (nowMs: number) =>
        (await teams.escalationOrder('p-1', nowMs)).filter((m) => names.includes(m));
      assert.deepEqual(await order(T0), names);
      return { T0, token, names, nurse, doctor, order };
    };

    it('passes over a member whose API token expired after the team was saved', async () => {
      const { T0, token, names, nurse, doctor, order } = await teamWithPager('expiry', 'pager-expiry');
      assert.deepEqual(await order(token.expiresAt - 1), names);
      assert.deepEqual(
        await order(token.expiresAt),
        [nurse, doctor],
        'an alert is not handed to a token that no longer authenticates',
      );
      assert.deepEqual(await order(T0 + 2 * 3_600_000), [nurse, doctor]);
      await teams.removePatient('expiry', 'p-1');
    });

    it('passes over a member whose API token was revoked after the team was saved', async () => {
      const { T0, token, names, nurse, doctor, order } = await teamWithPager('revoked', 'pager-revoked');
      await tokens.revoke(token.id, T0 + 60_000);
      assert.deepEqual(await order(T0 + 120_000), [nurse, doctor]);
      // A new token under the same name brings the member back.
      await tokens.create({ role: 'clinician', name: 'pager-revoked', ttlSeconds: 3600 }, T0 + 120_000);
      assert.deepEqual(await order(T0 + 180_000), names);
      await teams.removePatient('revoked', 'p-1');
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
