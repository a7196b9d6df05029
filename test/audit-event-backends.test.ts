import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuditLog } from '../src/audit/audit-log.ts';
import { auditActionCode } from '../src/fhir/audit-event-resource.ts';
import { searchAuditEvents } from '../src/fhir/audit-event-routes.ts';
import { parseAuditEventSearch } from '../src/fhir/export-params.ts';
import type { RawQuery } from '../src/fhir/search-params.ts';
import type { Store } from '../src/store/database.ts';
import { BACKENDS } from './support/backends.ts';

const T0 = Date.parse('2026-11-20T00:00:00Z');
const ACTIONS = [
  'patient.read',
  'patient.export',
  'device.create',
  'consent.deny',
  'patient.erase',
  'auth.logout',
];

for (const backend of BACKENDS) {
  describe(`AuditEvent search on ${backend.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, cleanup } = await backend.open());
      const audit = new AuditLog(store.db);
      // 1,200 entries: more than one filtering batch (1,000), with a rare action among them.
      for (let i = 0; i < 1200; i++) {
        const action = i % 500 === 7 ? 'patient.erase' : ACTIONS[i % 4]!;
        await audit.append(
          {
            actor: `token:t${i % 3}`,
            action,
            resource: i % 2 === 0 ? `Patient/p-${i % 5}` : `Device/d-${i % 5}`,
            patientId: `p-${i % 5}`,
            outcome: 'success',
          },
          T0 + i * 60_000,
        );
      }
    });
    after(() => cleanup());

    /** Every page, following the cursor as a next link would. */
    async function all(query: RawQuery) {
      const seqs: number[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 1000; pages++) {
        const q = parseAuditEventSearch({ ...query, ...(cursor ? { _cursor: cursor } : {}) });
        const { rows, nextBefore } = await searchAuditEvents(store.db, q);
        seqs.push(...rows.map((r) => r.seq));
        if (nextBefore === undefined) return seqs;
        cursor = String(nextBefore);
      }
      throw new Error('too many pages');
    }

    it('pages newest first without skipping or repeating', async () => {
      const seqs = await all({ patient: 'p-1', _count: '37' });
      assert.equal(seqs.length, 240);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => b - a),
      );
      assert.equal(new Set(seqs).size, seqs.length);
    });

    it('filters by derived action code across batches', async () => {
      const deletes = await all({ action: 'D', _count: '2' });
      assert.equal(deletes.length, 3);
      const rows = await store.db.selectFrom('audit_log').select(['seq', 'action']).execute();
      const expected = rows
        .filter((r) => auditActionCode(r.action) === 'U' || auditActionCode(r.action) === 'C')
        .map((r) => r.seq)
        .sort((a, b) => b - a);
      assert.deepEqual(await all({ action: 'U,C', _count: '100' }), expected);
    });

    it('filters by entity, subtype and date range', async () => {
      const from = new Date(T0 + 100 * 60_000).toISOString();
      const to = new Date(T0 + 199 * 60_000).toISOString();
      const seqs = await all({
        entity: 'Device/d-1',
        subtype: 'patient.export',
        date: `ge${from}`,
        _count: '1000',
      });
      const inRange = await all({ date: [`ge${from}`, `le${to}`], _count: '1000' });
      assert.equal(inRange.length, 100);
      const rows = await store.db.selectFrom('audit_log').selectAll().execute();
      const expected = rows
        .filter(
          (r) => r.resource === 'Device/d-1' && r.action === 'patient.export' && r.ts >= T0 + 100 * 60_000,
        )
        .map((r) => r.seq)
        .sort((a, b) => b - a);
      assert.ok(expected.length > 0);
      assert.deepEqual(seqs, expected);
    });
  });
}
