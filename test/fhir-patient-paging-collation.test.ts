/**
 * FHIR Patient search (and GET /api/v1/patients) page with a cursor that compares ids as
 * JavaScript does, by code unit: COLLATE "C" on PostgreSQL. The ORDER BY must compare the same
 * way, or on a database created with a language collation (en-US, what many installers choose)
 * the pages come in one order and the cursor skips by another, and patients are skipped or
 * repeated. Run on SQLite, on the machine's PostgreSQL as it is, and on a PostgreSQL database
 * created with an English collation.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { PatientScope } from '../src/access/readable-patients.ts';
import { PatientStore } from '../src/clinical/patients.store.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { openStore, type Store } from '../src/store/database.ts';
import { BACKENDS, TEST_PG_URL } from './support/backends.ts';

/** Ids whose order differs by collation: in en-US "p_c p-a p-B P-d", by code unit the reverse. */
const IDS = ['p-a', 'p-B', 'p_c', 'P-d', 'p-aa', 'p.e', 'p-0', 'Pz', 'p_C', 'q-1'];
const BY_CODE_UNIT = [...IDS].sort();

/** Every page of listIdsIn, each starting after the last id of the one before, as the routes do. */
async function allPages(
  patients: PatientStore,
  pageSize: number,
  scope?: PatientScope,
  ids?: ReadonlySet<string>,
): Promise<string[]> {
  const seen: string[] = [];
  for (let pages = 0; pages < 100; pages++) {
    const page = await patients.listIdsIn(scope, {
      ids,
      afterId: seen.at(-1),
      limit: pageSize,
    });
    seen.push(...page);
    if (page.length < pageSize) return seen;
  }
  throw new Error('more pages than patients: the cursor does not move on');
}

/** A language collation the server offers, as CREATE DATABASE options; undefined if none. */
async function languageCollation(): Promise<{ name: string; options: string } | undefined> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{
      collname: string;
      collprovider: string;
      collcollate: string | null;
    }>(
      `SELECT collname, collprovider, collcollate FROM pg_collation
        WHERE collname IN ('en-US-x-icu', 'en_US.utf8', 'en_US.UTF-8', 'en_US')
        ORDER BY collprovider = 'i' DESC, collname`,
    );
    const found = rows[0];
    if (!found) return undefined;
    return found.collprovider === 'i'
      ? { name: found.collname, options: `LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'` }
      : { name: found.collname, options: `LOCALE '${found.collcollate ?? found.collname}'` };
  } finally {
    await client.end();
  }
}

/** A database of its own whose default collation is `options`' language one, dropped afterwards. */
async function openLanguageDatabase(options: string): Promise<{ store: Store; cleanup(): Promise<void> }> {
  const name = `vigil_test_collate_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8' ${options}`);
  await admin.end();
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${name}`;
  const store = await openStore({ dataDir: '', databaseUrl: url.toString() });
  return {
    store,
    cleanup: async () => {
      await store.close();
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}

const collation = await languageCollation();
const DATABASES = [
  ...BACKENDS.map((b) => ({
    name: `${b.name} as set up`,
    open: () => b.open(),
    isLanguageCollated: false,
    skip: false as const,
  })),
  {
    name: `postgres created with collation ${collation?.name ?? '(none)'}`,
    isLanguageCollated: true,
    open: () => openLanguageDatabase(collation?.options ?? ''),
    skip: collation
      ? (false as const)
      : 'this PostgreSQL offers no English collation (en-US-x-icu, en_US.utf8): the case the fix is for cannot be set up here',
  },
];

for (const database of DATABASES) {
  describe(`patient paging by id on ${database.name}`, { skip: database.skip }, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let patients: PatientStore;
    before(async () => {
      ({ store, cleanup } = await database.open());
      patients = new PatientStore(store.db, new KeyRing(store.db, { id: 'mk-test', key: randomBytes(32) }));
      for (const id of IDS) await patients.add(id, { name: `Name of ${id}` });
    });
    after(() => cleanup());

    if (database.isLanguageCollated) {
      it('is set up right: the database itself orders these ids otherwise than by code unit', async () => {
        const rows = await store.db.selectFrom('patients').select('id').orderBy('id').execute();
        assert.notDeepEqual(
          rows.map((r) => r.id),
          BY_CODE_UNIT,
        );
      });
    }

    it('pages every patient once, in code-unit order, whatever the page size', async () => {
      for (const size of [1, 2, 3, IDS.length]) {
        assert.deepEqual(await allPages(patients, size), BY_CODE_UNIT, `pages of ${size}`);
      }
      assert.equal(await patients.countIn(undefined), IDS.length);
    });

    it('pages a scope and an _id list in the same order', async () => {
      const only = new Set(['P-d', 'p_c', 'p-B', 'p-a', 'Pz']);
      assert.deepEqual(
        await allPages(patients, 2, { only }),
        BY_CODE_UNIT.filter((id) => only.has(id)),
      );
      const except = new Set(['p-aa', 'q-1']);
      assert.deepEqual(
        await allPages(patients, 1, { except }),
        BY_CODE_UNIT.filter((id) => !except.has(id)),
      );
      const ids = new Set(['p_C', 'p-0', 'P-d', 'p.e']);
      assert.deepEqual(
        await allPages(patients, 1, undefined, ids),
        BY_CODE_UNIT.filter((id) => ids.has(id)),
      );
    });

    it('lists every id in the order the cursor compares by', async () => {
      assert.deepEqual(await patients.listIds(), BY_CODE_UNIT);
    });
  });
}
