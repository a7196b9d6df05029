import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore, type Store } from '../../src/store/database.ts';

/** The machine's PostgreSQL (trust auth, database "test"); override with VIGIL_TEST_PG_URL. */
export const TEST_PG_URL = process.env.VIGIL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface Backend {
  name: 'sqlite' | 'postgres';
  open(): Promise<{ store: Store; cleanup(): Promise<void> }>;
}

/** Each test gets its own SQLite file or its own PostgreSQL schema, dropped afterwards. */
export const BACKENDS: Backend[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'vigil-store-'));
      const store = await openStore({ dataDir: dir });
      return {
        store,
        cleanup: async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    async open() {
      const schema = `vigil_test_${randomBytes(6).toString('hex')}`;
      const store = await openStore({ dataDir: '', databaseUrl: TEST_PG_URL, pgSchema: schema });
      return {
        store,
        cleanup: async () => {
          await store.close();
          const client = new pg.Client({ connectionString: TEST_PG_URL });
          await client.connect();
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await client.end();
        },
      };
    },
  },
];
