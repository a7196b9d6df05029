/** The access decision reads its facts in one query; it gives the same answers on SQLite and PostgreSQL. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { PatientAccess, type Requester } from '../src/access/patient-access.ts';
import { CareTeamStore } from '../src/clinical/care-teams.store.ts';
import { PatientStore } from '../src/clinical/patients.store.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { BACKENDS } from './support/backends.ts';

const NOW = Date.parse('2026-11-27T10:00:00Z');
const clinician = (name: string): Requester => ({ role: 'clinician', name, actor: `user:${name}` });
const integration: Requester = { role: 'integration', name: 'lab-feed', actor: 'token:lab-feed' };

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return 'granted';
}

for (const backend of BACKENDS) {
  describe(`patient access facts on ${backend.name}`, () => {
    it('reads state, break-glass, care-team link and consents of a patient in one go', async () => {
      const { store, cleanup } = await backend.open();
      try {
        const keys = new KeyRing(store.db, { id: 'mk-t', key: randomBytes(32) });
        const patients = new PatientStore(store.db, keys);
        await patients.add('p-1', { name: 'Ada' }, NOW - 10_000);
        await patients.add('p-2', { name: 'Bo' }, NOW - 10_000);
        const teams = new CareTeamStore(store.db);
        await teams.create('ward', 'Ward', NOW - 9000);
        await teams.setMembers('ward', ['dr-team']);
        await teams.addPatient('ward', 'p-1', NOW - 9000);
        const access = new PatientAccess(store.db);
        const consent = {
          purposes: ['research' as const],
          categories: ['*' as const],
          periodStart: NOW - 8000,
          periodEnd: null,
        };
        await access.recordConsent('p-1', { decision: 'deny', ...consent }, 'admin', NOW - 8000);
        await access.recordConsent(
          'p-1',
          { decision: 'permit', ...consent, purposes: ['treatment'] },
          'admin',
          NOW - 7000,
        );
        await access.breakGlass(
          clinician('dr-glass'),
          'p-1',
          'unconscious in A&E, care team unreachable',
          NOW - 1000,
        );
        await patients.add('p-3', { name: 'Cy' }, NOW - 10_000);
        await patients.erase('p-3', NOW);
        // Both read paths: Kysely (PostgreSQL's) and, on SQLite, the statement prepared once.
        const readers = [access, ...(store.sqlite ? [new PatientAccess(store.db, store.sqlite)] : [])];
        for (const reader of readers) await assertFacts(reader);
      } finally {
        await cleanup();
      }
    });
  });
}

async function assertFacts(access: PatientAccess): Promise<void> {
  const team = await access.facts(clinician('dr-team'), 'p-1', NOW);
  assert.equal(team.patient, 'active');
  assert.equal(team.onCareTeam, true);
  assert.equal(team.breakGlassId, undefined);
  assert.deepEqual(team.consents.map((c) => [c.decision, c.purposes]).sort(), [
    ['deny', ['research']],
    ['permit', ['treatment']],
  ]);
  const glass = await access.facts(clinician('dr-glass'), 'p-1', NOW);
  assert.match(glass.breakGlassId ?? '', /^bg-/);
  assert.equal(glass.onCareTeam, false);
  const expired = await access.facts(clinician('dr-glass'), 'p-1', NOW + 61 * 60_000);
  assert.equal(expired.breakGlassId, undefined, 'a break-glass grant ends after 60 minutes');
  assert.deepEqual(await access.facts(clinician('dr-team'), 'p-2', NOW), {
    patient: 'active',
    breakGlassId: undefined,
    onCareTeam: false,
    consents: [],
  });
  assert.equal((await access.facts(clinician('dr-team'), 'nobody', NOW)).patient, 'unknown');
  assert.equal((await access.facts(clinician('dr-team'), 'p-3', NOW)).patient, 'erased');

  assert.equal(
    await refusal(access.check(clinician('dr-team'), 'p-1', 'treatment', 'vital-signs', NOW)),
    'granted',
  );
  assert.equal(
    await refusal(access.check(clinician('dr-team'), 'p-1', 'research', 'vital-signs', NOW)),
    'VIGIL_ERR_AUTH_FORBIDDEN',
  );
  // Break-glass is for emergency treatment: it overrides a refusal of that, and of nothing else.
  assert.equal(
    (await access.check(clinician('dr-glass'), 'p-1', 'treatment', 'vital-signs', NOW)).basis,
    'break-glass',
  );
  assert.equal(
    await refusal(access.check(clinician('dr-glass'), 'p-1', 'research', 'vital-signs', NOW)),
    'VIGIL_ERR_AUTH_FORBIDDEN',
  );
  assert.equal(
    await refusal(access.check(clinician('dr-other'), 'p-1', 'treatment', 'vital-signs', NOW)),
    'VIGIL_ERR_AUTH_FORBIDDEN',
  );
  assert.equal(await refusal(access.check(integration, 'p-1', 'treatment', 'vital-signs', NOW)), 'granted');
  assert.equal(
    await refusal(
      access.check({ role: 'auditor', name: 'au', actor: 'user:au' }, 'p-1', 'treatment', 'vital-signs', NOW),
    ),
    'VIGIL_ERR_AUTH_FORBIDDEN',
  );
}
