import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from '../../test/support/backends.ts';
import { CareTeamStore } from '../clinical/care-teams.store.ts';
import { PatientStore } from '../clinical/patients.store.ts';
import { KeyRing } from '../crypto/key-ring.ts';
import type { Store } from '../store/database.ts';
import { CATEGORIES, type ConsentRecord } from './consent.ts';
import { PatientAccess, type Requester } from './patient-access.ts';
import { inScope } from './readable-patients.ts';
import { ROLES } from './roles.ts';

const NOW = Date.parse('2026-12-04T10:00:00Z');
const HOUR = 3_600_000;
const REASON = 'unconscious in A&E, care team unreachable';

const requester = (role: Requester['role'], name: string): Requester => ({
  role,
  name,
  actor: `user:${name}`,
});
const drWard = requester('clinician', 'dr-ward');
const integration: Requester = { role: 'integration', name: 'lab-feed', actor: 'token:lab-feed' };

type Consent = Omit<ConsentRecord, 'id' | 'status' | 'recordedAt'>;
const refusal = (over: Partial<Consent> = {}): Consent => ({
  decision: 'deny',
  purposes: ['treatment'],
  categories: ['alerts'],
  periodStart: NOW - 10 * HOUR,
  periodEnd: null,
  ...over,
});

/**
 * The scope a list filters by in SQL must give, for every patient, the answer the per-patient
 * decision gives: that is what keeps the alert list showing exactly what it showed before.
 */
for (const backend of BACKENDS) {
  describe(`readable patients on ${backend.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let access: PatientAccess;
    /** Every patient of the fixture, plus one alerts may name though it was never registered. */
    const everyone: string[] = ['p-unregistered'];

    before(async () => {
      ({ store, cleanup } = await backend.open());
      const keys = new KeyRing(store.db, { id: 'mk-test', key: randomBytes(32) });
      const patients = new PatientStore(store.db, keys);
      const teams = new CareTeamStore(store.db);
      access = new PatientAccess(store.db);
      const patient = async (id: string, opts: { onTeam?: boolean; consents?: Consent[] } = {}) => {
        await patients.add(id, { name: `Patient ${id}` }, NOW - 20 * HOUR);
        if (opts.onTeam) await teams.addPatient('ward', id, NOW - 20 * HOUR);
        for (const [i, c] of (opts.consents ?? []).entries())
          await access.recordConsent(id, c, 'admin', NOW - 9 * HOUR + i * 1000);
        everyone.push(id);
      };
      await teams.create('ward', 'Ward 7', NOW - 30 * HOUR);
      await teams.setMembers('ward', ['dr-ward', 'nurse-ward']);
      await teams.create('other', 'Ward 9', NOW - 30 * HOUR);
      await teams.setMembers('other', ['dr-other']);

      await patient('p-team', { onTeam: true });
      await patient('p-team-refuses-alerts', { onTeam: true, consents: [refusal()] });
      await patient('p-team-refuses-all', {
        onTeam: true,
        consents: [refusal({ purposes: ['*'], categories: ['*'] })],
      });
      await patient('p-team-refuses-research', {
        onTeam: true,
        consents: [refusal({ purposes: ['research'], categories: ['*'] })],
      });
      await patient('p-team-refused-then-permitted', {
        onTeam: true,
        consents: [refusal({ categories: ['*'] }), refusal({ decision: 'permit' })],
      });
      await patient('p-team-refusal-ended', { onTeam: true, consents: [refusal({ periodEnd: NOW - HOUR })] });
      await patient('p-team-refusal-to-come', {
        onTeam: true,
        consents: [refusal({ periodStart: NOW + HOUR })],
      });
      await patient('p-team-refusal-revoked', { onTeam: true, consents: [refusal()] });
      const [revoked] = await access.consents('p-team-refusal-revoked');
      assert.ok(revoked);
      await access.revokeConsent('p-team-refusal-revoked', revoked.id, NOW - HOUR);
      await patient('p-glass-refuses-all', { consents: [refusal({ purposes: ['*'], categories: ['*'] })] });
      await access.breakGlass(drWard, 'p-glass-refuses-all', REASON, NOW - 10 * 60_000);
      // On the team and under a running grant: the grant overrides the refusal.
      await access.breakGlass(drWard, 'p-team-refuses-all', REASON, NOW - 10 * 60_000);
      await patient('p-glass-ended');
      await access.breakGlass(drWard, 'p-glass-ended', REASON, NOW - 2 * HOUR);
      await patient('p-glass-of-another');
      await access.breakGlass(requester('clinician', 'dr-other'), 'p-glass-of-another', REASON, NOW - 60_000);
      await patient('p-foreign');
      await patient('p-foreign-refuses-alerts', { consents: [refusal()] });
      await patient('p-other-team');
      await teams.addPatient('other', 'p-other-team', NOW - 20 * HOUR);
      await patient('p-team-erased', { onTeam: true });
      await patients.erase('p-team-erased', NOW - HOUR);
    });
    after(async () => {
      await cleanup();
    });

    const scopeOf = async (who: Requester, category: (typeof CATEGORIES)[number]) => {
      const scope = await access.readablePatients(who, category, NOW);
      return everyone.filter((id) => inScope(scope, id)).sort();
    };

    it('agrees with the per-patient decision for every role, category and patient', async () => {
      const askers = [
        drWard,
        requester('clinician', 'nurse-ward'),
        requester('clinician', 'dr-other'),
        requester('clinician', 'dr-nobody'),
        integration,
        ...ROLES.filter((r) => r !== 'clinician' && r !== 'integration').map((r) => requester(r, `${r}-1`)),
      ];
      for (const who of askers) {
        for (const category of CATEGORIES) {
          const decided = await access.readable(who, everyone, category, NOW);
          assert.deepEqual(
            await scopeOf(who, category),
            everyone.filter((id) => decided.has(id)).sort(),
            `${who.role} ${who.name} reading ${category}`,
          );
        }
      }
    });

    it("gives a clinician their care team's patients whose consent permits the category, and running break-glass grants", async () => {
      assert.deepEqual(await scopeOf(drWard, 'alerts'), [
        'p-glass-refuses-all',
        'p-team',
        'p-team-erased',
        'p-team-refusal-ended',
        'p-team-refusal-revoked',
        'p-team-refusal-to-come',
        'p-team-refused-then-permitted',
        'p-team-refuses-all',
        'p-team-refuses-research',
      ]);
      assert.ok((await scopeOf(drWard, 'vital-signs')).includes('p-team-refuses-alerts'));
    });

    it('gives an integration everyone, registered or not, but the patients whose consent refuses it', async () => {
      const scope = await access.readablePatients(integration, 'alerts', NOW);
      assert.deepEqual([...(scope.except ?? ['not an except scope'])].sort(), [
        'p-foreign-refuses-alerts',
        'p-glass-refuses-all',
        'p-team-refuses-alerts',
        'p-team-refuses-all',
      ]);
    });

    it('gives the roles that read no patient data nobody', async () => {
      for (const role of ['admin', 'security', 'auditor', 'patient'] as const) {
        assert.deepEqual(await access.readablePatients(requester(role, 'x'), 'alerts', NOW), {
          only: new Set(),
        });
      }
    });
  });
}
