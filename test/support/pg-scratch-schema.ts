import { randomBytes } from 'node:crypto';
import { Kysely, type KyselyConfig, PostgresDialect } from 'kysely';
import pg from 'pg';
import { TEST_PG_URL } from './backends.ts';

export interface ScratchSchema<DB> {
  schema: string;
  /** One connection, its search_path on the schema: what the test's raw SQL sees. */
  pool: pg.Pool;
  kysely: Kysely<DB>;
  /** Drops the schema and everything in it, and closes the pool. */
  drop(): Promise<void>;
}

/**
 * A PostgreSQL schema of its own for one test (a migration test migrates it from empty), so
 * tests running at the same time on the machine's database never meet.
 */
export async function openScratchSchema<DB = unknown>(
  prefix: string,
  config: Omit<KyselyConfig, 'dialect'> = {},
): Promise<ScratchSchema<DB>> {
  const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: TEST_PG_URL, max: 1, options: `-c search_path=${schema}` });
  await pool.query(`CREATE SCHEMA "${schema}"`);
  const kysely = new Kysely<DB>({ ...config, dialect: new PostgresDialect({ pool }) });
  return {
    schema,
    pool,
    kysely,
    drop: async () => {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await kysely.destroy();
    },
  };
}
