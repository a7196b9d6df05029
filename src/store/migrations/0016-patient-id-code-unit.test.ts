import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { openScratchSchema } from '../../../test/support/pg-scratch-schema.ts';
import { PatientStore } from '../../clinical/patients.store.ts';
import type { KeyRing } from '../../crypto/key-ring.ts';
import { migrateTo, migrateToLatest } from '../migrate.ts';
import type { Schema } from '../schema.ts';

const BEFORE = '0015-webhook-outbox';
const PATIENTS = 5_000;

describe('migration 0016: patient pages walk an index in code-unit order (PostgreSQL)', () => {
  let schema: string;
  let pool: pg.Pool;
  let db: Kysely<Schema>;
  let dropSchema: () => Promise<void>;
  const compiled: Array<{ sql: string; parameters: readonly unknown[] }> = [];

  /** The plan of the query the patient list really sends: a page of 50 after a cursor. */
  const planOfPage = async (): Promise<string> => {
    compiled.length = 0;
    // Listing ids reads no identity, so the store never needs a key.
    const ids = await new PatientStore(db, {} as KeyRing).listIdsIn(undefined, {
      afterId: 'p-02500',
      limit: 50,
    });
    assert.equal(ids.length, 50);
    assert.equal(ids[0], 'p-02501');
    const page = compiled.find((q) => /from "patients"/.test(q.sql));
    assert.ok(page, 'the page query was sent');
    await pool.query('ANALYZE patients');
    const { rows } = await pool.query(`EXPLAIN ${page.sql}`, [...page.parameters]);
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  };

  before(async () => {
    ({
      schema,
      pool,
      kysely: db,
      drop: dropSchema,
    } = await openScratchSchema<Schema>('vigil_0016', {
      log: (e) => void compiled.push({ sql: e.query.sql, parameters: e.query.parameters }),
    }));
    await migrateTo(db as unknown as Kysely<unknown>, 'postgres', BEFORE, schema);
    await pool.query(
      `INSERT INTO patients (id, sealed_identity, created_at, erased_at)
       SELECT 'p-' || lpad(i::text, 5, '0'), '\\x00', 0, CASE WHEN i % 10 = 0 THEN 1 ELSE NULL END
       FROM generate_series(1, ${PATIENTS}) AS i`,
    );
  });
  after(() => dropSchema());

  it('sorted every unerased patient for each page before, and walks the new index after', async () => {
    assert.match(await planOfPage(), /Sort/, 'before: the primary key is in another collation');
    await migrateToLatest(db as unknown as Kysely<unknown>, 'postgres', schema);
    const plan = await planOfPage();
    assert.match(plan, /Index (Only )?Scan using patients_id_code_unit/);
    assert.doesNotMatch(plan, /Sort/);
  });
});
