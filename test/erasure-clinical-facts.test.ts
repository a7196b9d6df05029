/**
 * Erasure shreds the sealed rows with the patient's key; the facts about them kept in clear
 * (alarm limits, care-team links, data-quality notices, an alert's condition, urgency and onset)
 * must go with it. The same on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Alert } from '../src/clinical/alerts/alert-lifecycle.ts';
import { AlertStore } from '../src/clinical/alerts/alerts.store.ts';
import { CareTeamStore } from '../src/clinical/care-teams.store.ts';
import { PatientStore } from '../src/clinical/patients.store.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import type { Store } from '../src/store/database.ts';
import { anAlert } from './support/alert-steps.ts';
import { BACKENDS } from './support/backends.ts';

const NOW = Date.parse('2026-12-05T10:00:00Z');

/** An open urgent low from the patient's CGM, raised a minute ago. */
const alertOf = (patientId: string, id: string, over: Partial<Alert> = {}): Alert =>
  anAlert(id, patientId, NOW - 60_000, { deviceId: 'cgm-1', value: 48, onsetMs: NOW - 90_000, ...over });

/** Two patients with the same clinical facts; the first is to be erased. */
async function twoPatients(store: Store) {
  const keys = new KeyRing(store.db, { id: 'mk-t', key: randomBytes(32) });
  const patients = new PatientStore(store.db, keys);
  const alerts = new AlertStore(store.db, (p) => keys.dataKey('patient', p));
  const teams = new CareTeamStore(store.db);
  await teams.create('ward', 'Ward', NOW - 10_000);
  for (const p of ['p-gone', 'p-kept']) {
    await patients.add(p, { name: `Name of ${p}` }, NOW - 10_000);
    await teams.addPatient('ward', p, NOW - 10_000);
    await alerts.setRuleOverrides(p, { glucoseLowMgDl: 80 }, 'user:dr', NOW - 9000);
    await alerts.noteQuality({
      deviceId: `cgm-${p}`,
      patientId: p,
      issue: 'flat-line',
      count: 3,
      tsMs: NOW - 8000,
    });
    await alerts.insert(
      alertOf(p, `${p}-resolved`, { state: 'resolved', resolvedMs: NOW - 7000, resolution: 'cleared' }),
    );
    // Two open alerts on one device: clearing their conditions at once would break the
    // one-open-alert-per-condition index.
    await alerts.insert(alertOf(p, `${p}-low`));
    await alerts.insert(alertOf(p, `${p}-fall`, { condition: 'glucose-falling-fast', urgency: 'warning' }));
  }
  return { patients, alerts };
}

for (const backend of BACKENDS) {
  describe(`erasure and the clinical facts kept in clear, on ${backend.name}`, () => {
    it("deletes the patient's alarm limits and data-quality notices", async () => {
      const { store, cleanup } = await backend.open();
      try {
        const { patients } = await twoPatients(store);
        assert.equal(await patients.erase('p-gone', NOW), true);
        for (const table of ['alert_rules', 'data_quality_notices'] as const) {
          const rows = await store.db.selectFrom(table).select('patient_id').execute();
          assert.deepEqual(
            rows.map((r) => r.patient_id),
            ['p-kept'],
            `${table} after the erasure`,
          );
        }
      } finally {
        await cleanup();
      }
    });

    it("keeps the patient's alert rows without condition, urgency or onset once resolved as erased", async () => {
      const { store, cleanup } = await backend.open();
      try {
        const { patients, alerts } = await twoPatients(store);
        await patients.erase('p-gone', NOW);
        const inTransaction = await store.db
          .selectFrom('alerts')
          .select(['id', 'urgency', 'onset_ms'])
          .where('patient_id', '=', 'p-gone')
          .orderBy('id')
          .execute();
        assert.deepEqual(
          inTransaction.map((r) => [r.id, r.urgency, Number(r.onset_ms)]),
          [
            ['p-gone-fall', 'erased', 0],
            ['p-gone-low', 'erased', 0],
            ['p-gone-resolved', 'erased', 0],
          ],
        );
        assert.deepEqual(await alerts.resolveErased('p-gone', 'user:admin', NOW).then((ids) => ids.sort()), [
          'p-gone-fall',
          'p-gone-low',
        ]);
        const rows = await store.db.selectFrom('alerts').selectAll().orderBy('id').execute();
        const gone = rows.filter((r) => r.patient_id === 'p-gone');
        assert.deepEqual(
          gone.map((r) => [r.id, r.state, r.condition, r.urgency]),
          [
            ['p-gone-fall', 'resolved', 'erased', 'erased'],
            ['p-gone-low', 'resolved', 'erased', 'erased'],
            ['p-gone-resolved', 'resolved', 'erased', 'erased'],
          ],
        );
        const kept = rows.filter((r) => r.patient_id === 'p-kept');
        assert.deepEqual(
          kept.map((r) => [r.condition, r.urgency, Number(r.onset_ms)]),
          [
            ['glucose-falling-fast', 'warning', NOW - 90_000],
            ['glucose-urgent-low', 'urgent', NOW - 90_000],
            ['glucose-urgent-low', 'urgent', NOW - 90_000],
          ],
          "the other patient's alerts are untouched",
        );
      } finally {
        await cleanup();
      }
    });

    it('lists no notice of an erased patient, also one a reading in flight noted after the erasure', async () => {
      const { store, cleanup } = await backend.open();
      try {
        const { patients, alerts } = await twoPatients(store);
        await patients.erase('p-gone', NOW);
        await alerts.noteQuality({
          deviceId: 'cgm-late',
          patientId: 'p-gone',
          issue: 'clock-skew',
          count: 1,
          tsMs: NOW,
        });
        const notices = await alerts.notices({ limit: 50 });
        assert.deepEqual(
          notices.map((n) => n.patientId),
          ['p-kept'],
        );
      } finally {
        await cleanup();
      }
    });
  });
}
