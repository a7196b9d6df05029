import { type Kysely, sql } from 'kysely';

/**
 * Releases before this one sealed a device's open run into one chunk however widely its
 * readings were spread, so a backfill (readings buffered for days, alone or in a run beside live
 * ones) made chunks that start days before their newest reading. Readers look back only a day
 * for a chunk's start (MAX_CHUNK_SPAN_MS, src/clinical/observations.store.ts) and missed the
 * newest readings of those chunks. Sealing now splits such runs; this partial index finds the
 * chunks sealed before, by their end time (chunksInRange). It holds only those: new chunks never
 * span more than the day.
 *
 * The chunks cannot be split here instead: their readings are sealed under patient data keys,
 * which migrations do not hold (and an erased patient's no one holds).
 *
 * The condition must stay spelled as chunksInRange spells it, with the number written out:
 * SQLite uses a partial index only for a query whose WHERE holds the index's condition as is.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema type exists
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('reading_chunks_wide')
    .on('reading_chunks')
    .columns(['patient_id', 'end_ms'])
    .where(sql<boolean>`end_ms - start_ms > 86400000`)
    .execute();
}
