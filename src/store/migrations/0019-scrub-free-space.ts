import { type Kysely, sql } from 'kysely';
import type { MigrationContext } from '../migrate.ts';

/** Free pages are taken up in pieces of at most this many bytes (SQLite's limit is 1 GB a value). */
const SCRUB_CHUNK_BYTES = 64 * 1024 * 1024;

/**
 * Stores written before every connection set `secure_delete` (see secure-delete.ts) still hold
 * what an erasure meant to destroy: a patient's wrapped data key, overwritten in place, leaves
 * its old bytes in the free space of the data_keys pages, and deleted rows leave theirs in free
 * pages. The master key, kept for restores, unwraps such a key from the file or any backup.
 *
 * This step removes them without a VACUUM (which cannot run in the migration's transaction and
 * rewrites the whole store): with secure_delete on, SQLite zeroes every page it frees and every
 * b-tree page it starts afresh. So data_keys is rebuilt (its old pages are freed, zeroed), then
 * every free page is taken up by a blob of zeros and freed again. Cost: one write of data_keys
 * and of the free pages, once. PostgreSQL has no secure_delete: there, old row versions stay
 * until VACUUM reuses their space, so nothing done here would make them go.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema type exists
export async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  if (ctx.kind !== 'sqlite') return;
  await sql`PRAGMA secure_delete = ON`.execute(db);
  const { rows } = await sql<{ sql: string }>`
    SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'data_keys'`.execute(db);
  const definition = rows[0]?.sql;
  if (definition === undefined) throw new Error('migration 0019: the store has no data_keys table');
  await sql`CREATE TABLE data_keys_kept AS SELECT * FROM data_keys`.execute(db);
  await sql`DROP TABLE data_keys`.execute(db);
  await sql.raw(definition).execute(db);
  await sql`INSERT INTO data_keys SELECT * FROM data_keys_kept`.execute(db);
  await sql`DROP TABLE data_keys_kept`.execute(db);
  await zeroFreePages(db);
}

async function zeroFreePages(db: Kysely<unknown>): Promise<void> {
  const pageSize = await pragmaNumber(db, 'page_size');
  await sql`CREATE TABLE free_space_scrub (zeros BLOB NOT NULL)`.execute(db);
  for (let free = await pragmaNumber(db, 'freelist_count'); free > 0; ) {
    const bytes = Math.min(free * pageSize, SCRUB_CHUNK_BYTES);
    await sql`INSERT INTO free_space_scrub (zeros) VALUES (zeroblob(${bytes}))`.execute(db);
    const left = await pragmaNumber(db, 'freelist_count');
    // A blob also takes b-tree pages: once it takes no free page, what is left is in use.
    if (left >= free) break;
    free = left;
  }
  await sql`DROP TABLE free_space_scrub`.execute(db);
}

async function pragmaNumber(db: Kysely<unknown>, name: 'page_size' | 'freelist_count'): Promise<number> {
  const { rows } = await sql<Record<string, number>>`PRAGMA ${sql.raw(name)}`.execute(db);
  const value = rows[0]?.[name];
  if (typeof value !== 'number') throw new Error(`migration 0019: PRAGMA ${name} gave no number`);
  return value;
}
