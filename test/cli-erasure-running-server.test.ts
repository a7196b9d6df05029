/**
 * `vigil patient erase` from the console while the server runs: the server notices through its
 * poll and does what the erasure route does, for the ingest writer and for the alert engine,
 * which otherwise kept the patient's open alerts (their values, in clear) in memory.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CODES } from '../src/clinical/alerts/alert-conditions.ts';
import { runVigil } from './support/cli-process.ts';
import { until } from './support/until.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

describe('a patient erased from the console while the server runs', { timeout: 120_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h?.stop());

  it("resolves the patient's open alerts as erased, as the API's erasure does", async () => {
    await h.vigil.patients.add('p-console', { name: 'Console Erasure' });
    const now = Date.now();
    await h.vigil.alerts.onStored({
      deviceId: 'cgm-console',
      receivedMs: now,
      parts: [{ patientId: 'p-console', readings: [{ code: CODES.glucose, value: 45, tsMs: now }] }],
    });
    await h.vigil.alerts.idle();
    const sqlite = h.vigil.store.sqlite;
    assert.ok(sqlite);
    const rows = () =>
      sqlite.prepare('SELECT state, resolution FROM alerts WHERE patient_id = ?').all('p-console') as Array<{
        state: string;
        resolution: string | null;
      }>;
    assert.ok(rows().length > 0, 'an urgent low glucose raised an alert');
    assert.ok(rows().every((r) => r.state !== 'resolved'));

    const erase = await runVigil([
      'patient',
      'erase',
      '--id',
      'p-console',
      '--reason',
      'erasure request handled at the console',
      '--yes',
      '--data-dir',
      h.dataDir,
    ]);
    assert.equal(erase.code, 0, erase.stderr);
    const resolved = await until('the alerts resolved after the console erasure', () => {
      const now = rows();
      return now.every((r) => r.state === 'resolved') ? now : undefined;
    });
    assert.deepEqual(new Set(resolved.map((r) => r.resolution)), new Set(['erased']));
  });

  it('resolves at the next start the alerts of a patient erased while no server ran', async () => {
    await h.vigil.patients.add('p-offline', { name: 'Offline Erasure' });
    const now = Date.now();
    await h.vigil.alerts.onStored({
      deviceId: 'cgm-offline',
      receivedMs: now,
      parts: [{ patientId: 'p-offline', readings: [{ code: CODES.glucose, value: 45, tsMs: now }] }],
    });
    await h.vigil.alerts.idle();
    await h.restart(async () => {
      const erase = await runVigil([
        'patient',
        'erase',
        '--id',
        'p-offline',
        '--reason',
        'erasure request handled while the server was down',
        '--yes',
        '--data-dir',
        h.dataDir,
      ]);
      assert.equal(erase.code, 0, erase.stderr);
    });
    await h.vigil.alerts.idle();
    const sqlite = h.vigil.store.sqlite;
    assert.ok(sqlite);
    const rows = sqlite
      .prepare('SELECT state, resolution, condition FROM alerts WHERE patient_id = ?')
      .all('p-offline') as Array<{ state: string; resolution: string | null; condition: string }>;
    assert.ok(rows.length > 0);
    assert.deepEqual(
      rows.map((r) => [r.state, r.resolution, r.condition]),
      rows.map(() => ['resolved', 'erased', 'erased']),
    );
  });
});
