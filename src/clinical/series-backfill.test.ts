import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { tempStore } from '../../test/support/temp-store.ts';
import { seal } from '../crypto/aead.ts';
import {
  type AcceptedMessage,
  type ChunkPolicy,
  chunkAad,
  chunksInRange,
  DEFAULT_CHUNK_POLICY,
  MAX_CHUNK_SPAN_MS,
  SqliteObservationStore,
} from './observations.store.ts';
import { encodeReadings, type Reading } from './readings-codec.ts';
import { SeriesStore } from './series.store.ts';
import { SeriesReader } from './series.ts';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const GLUCOSE = '99504-3';
const KEY = randomBytes(32);
const keyOf = () => KEY;

/**
 * Ingest accepts readings up to 30 days old, in any order and spread: a device back online
 * sends its buffer in one message, or one buffered reading after live ones. Every stored
 * reading must come back for any range that holds it, sealed or staged, through every reader.
 */
describe('readings backfilled into a run (SQLite)', () => {
  let ctx: Awaited<ReturnType<typeof tempStore>>;
  let reader: SeriesReader;
  let series: SeriesStore;
  let patients = 0;

  before(async () => {
    ctx = await tempStore();
    series = new SeriesStore(ctx.store.sqlite!, keyOf);
    reader = new SeriesReader(series);
  });
  after(() => ctx.cleanup());

  const newPatient = () => `pat-${++patients}`;
  const newStore = (policy: ChunkPolicy = DEFAULT_CHUNK_POLICY) =>
    new SqliteObservationStore(ctx.store.sqlite!, () => 0, keyOf, policy);
  const message = (patientId: string, seq: number, readings: Reading[]): AcceptedMessage => ({
    deviceId: `dev-of-${patientId}`,
    seq,
    hash: `h${seq}`,
    receivedMs: NOW,
    parts: [{ patientId, readings }],
  });
  const glucose = (tsMs: number, value: number): Reading => ({ code: GLUCOSE, value, tsMs });
  const widestChunk = (patientId: string) =>
    (
      ctx.store
        .sqlite!.prepare('SELECT MAX(end_ms - start_ms) AS w FROM reading_chunks WHERE patient_id = ?')
        .get(patientId) as { w: number | null }
    ).w;

  /** What each reader answers for a range, as sorted "time|value" strings, and the cost guard's count. */
  function answers(store: SqliteObservationStore, patientId: string, fromMs: number, toMs: number) {
    const range = { fromMs, toMs };
    const label = (r: { tsMs: number; value: number }) => `${r.tsMs}|${r.value}`;
    const points = reader.points(patientId, range).get(GLUCOSE);
    return {
      keyed: reader.keyed(patientId, range).map(label),
      page: reader.page(patientId, { ...range, limit: 10_000 }).rows.map(label),
      points: points ? Array.from(points.t, (t, i) => label({ tsMs: t, value: points.v[i]! })) : [],
      query: store.query(patientId, range).map(label),
      counted: series.readingsInRange(patientId, fromMs, toMs),
    };
  }

  function assertAllFound(
    store: SqliteObservationStore,
    patientId: string,
    stored: Reading[],
    fromMs: number,
    toMs: number,
  ) {
    const expected = stored
      .filter((r) => r.tsMs >= fromMs && r.tsMs <= toMs)
      .sort((a, b) => a.tsMs - b.tsMs)
      .map((r) => `${r.tsMs}|${r.value}`);
    const got = answers(store, patientId, fromMs, toMs);
    const range = `[now${(fromMs - NOW) / MINUTE}min, now${(toMs - NOW) / MINUTE}min]`;
    assert.deepEqual(got.keyed, expected, `keyed ${range}`);
    assert.deepEqual(got.page, expected, `page ${range}`);
    assert.deepEqual(got.points, expected, `points ${range}`);
    assert.deepEqual(got.query, expected, `observation store query ${range}`);
    assert.ok(got.counted >= expected.length, `readingsInRange ${range}: ${got.counted}`);
  }

  it('finds the live readings of a run that then took a reading buffered two days ago', () => {
    const store = newStore();
    const patientId = newPatient();
    const stored: Reading[] = [];
    for (let m = 10; m >= 1; m--) stored.push(glucose(NOW - m * MINUTE, 100 + m));
    stored.push(glucose(NOW - 2 * DAY, 99));
    stored.forEach((r, i) => {
      store.commitBatch([message(patientId, i + 1, [r])]);
    });
    assert.ok(widestChunk(patientId) !== null, 'the run was sealed (its span passed the hour)');
    assert.ok(widestChunk(patientId)! <= MAX_CHUNK_SPAN_MS);
    assertAllFound(store, patientId, stored, NOW - HOUR, NOW);
    assertAllFound(store, patientId, stored, NOW - 3 * DAY, NOW);
    assertAllFound(store, patientId, stored, NOW - 2 * DAY - HOUR, NOW - 2 * DAY + HOUR);
    assert.deepEqual(
      reader.latest(patientId).map((r) => [r.tsMs, r.value]),
      [[NOW - MINUTE, 101]],
    );
  });

  it('finds the newest readings of one message holding two days of a glucose monitor’s buffer', () => {
    const store = newStore();
    const patientId = newPatient();
    const stored: Reading[] = [];
    for (let t = NOW - 2 * DAY; t <= NOW - MINUTE; t += 30 * MINUTE)
      stored.push(glucose(t, 80 + (stored.length % 90)));
    store.commitBatch([message(patientId, 1, stored)]);
    assert.ok(widestChunk(patientId)! <= MAX_CHUNK_SPAN_MS);
    assertAllFound(store, patientId, stored, NOW - 6 * HOUR, NOW + MINUTE);
    assertAllFound(store, patientId, stored, NOW - 30 * DAY, NOW + MINUTE);
    assertAllFound(store, patientId, stored, NOW - DAY - 5 * MINUTE, NOW - DAY + 5 * MINUTE);
  });

  it('finds every reading in every range, whatever order and spread readings arrive in (property)', () => {
    const readingArb = fc.record({
      // Mostly the last hours, some up to the 30 days ingest accepts.
      ageMs: fc.oneof(fc.integer({ min: 0, max: 6 * HOUR }), fc.integer({ min: 0, max: 30 * DAY })),
      value: fc.integer({ min: 40, max: 400 }),
    });
    const caseArb = fc.record({
      messages: fc.array(fc.array(readingArb, { minLength: 1, maxLength: 12 }), {
        minLength: 1,
        maxLength: 30,
      }),
      perCommit: fc.integer({ min: 1, max: 5 }),
      maxReadings: fc.integer({ min: 2, max: 64 }),
      maxSpanMs: fc.constantFrom(MINUTE, HOUR, 6 * HOUR, 3 * DAY),
      deferSealing: fc.boolean(),
      sealAtEnd: fc.boolean(),
      ranges: fc.array(
        fc.record({
          fromAgeMs: fc.integer({ min: 0, max: 31 * DAY }),
          widthMs: fc.integer({ min: 0, max: 3 * DAY }),
        }),
        { minLength: 1, maxLength: 6 },
      ),
    });
    fc.assert(
      fc.property(caseArb, (c) => {
        const patientId = newPatient();
        const store = newStore({
          maxReadings: c.maxReadings,
          maxSpanMs: c.maxSpanMs,
          deferSealing: c.deferSealing,
        });
        const stored: Reading[] = [];
        const messages = c.messages.map((readings, i) => {
          // Distinct times (a whole second plus a unique millisecond) keep the expected answer
          // free of ties.
          const own = readings.map((r, j) =>
            glucose(NOW - Math.floor(r.ageMs / 1000) * 1000 - (i * 12 + j), r.value),
          );
          stored.push(...own);
          return message(patientId, i + 1, own);
        });
        for (let i = 0; i < messages.length; i += c.perCommit)
          store.commitBatch(messages.slice(i, i + c.perCommit), 1);
        if (c.sealAtEnd) {
          while (store.sealDue(4) > 0);
          store.sealOpenChunks();
        }
        const widest = widestChunk(patientId);
        assert.ok(widest === null || widest <= MAX_CHUNK_SPAN_MS, `a chunk spans ${widest} ms`);
        for (const r of c.ranges) {
          const fromMs = NOW - r.fromAgeMs;
          assertAllFound(store, patientId, stored, fromMs, fromMs + r.widthMs);
        }
        // Each reading alone, at the edges of a range.
        for (const r of stored.slice(0, 5)) assertAllFound(store, patientId, stored, r.tsMs, r.tsMs);
      }),
      { numRuns: 40 },
    );
  });

  describe('chunks a release before migration 0012 sealed wider than a day', () => {
    const legacyChunk = (patientId: string, readings: Reading[]) => {
      const id = randomUUID();
      const startMs = readings[0]!.tsMs;
      const endMs = readings[readings.length - 1]!.tsMs;
      const aad = chunkAad(id, patientId, `dev-of-${patientId}`, startMs, endMs, readings.length);
      ctx.store
        .sqlite!.prepare(
          'INSERT INTO reading_chunks (id, patient_id, device_id, start_ms, end_ms, count, codes, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          id,
          patientId,
          `dev-of-${patientId}`,
          startMs,
          endMs,
          readings.length,
          GLUCOSE,
          seal(
            KEY,
            encodeReadings(readings, () => 0),
            aad,
          ),
        );
    };

    it('are still read whole', () => {
      const store = newStore();
      const patientId = newPatient();
      const wide = [glucose(NOW - 20 * DAY, 90), glucose(NOW - 2 * DAY, 95), glucose(NOW - 10 * MINUTE, 250)];
      legacyChunk(patientId, wide);
      // A chunk of today beside it, and a narrow old one.
      const today = [glucose(NOW - 5 * MINUTE, 240), glucose(NOW - 4 * MINUTE, 230)];
      store.commitBatch([message(patientId, 1, today)]);
      store.sealOpenChunks();
      const old = [glucose(NOW - 25 * DAY, 120)];
      legacyChunk(patientId, old);
      const stored = [...wide, ...today, ...old];
      assertAllFound(store, patientId, stored, NOW - HOUR, NOW);
      assertAllFound(store, patientId, stored, NOW - 2 * DAY - MINUTE, NOW - 2 * DAY + MINUTE);
      assertAllFound(store, patientId, stored, NOW - 26 * DAY, NOW - 19 * DAY);
      assertAllFound(store, patientId, stored, NOW - 30 * DAY, NOW);
      assert.deepEqual(
        reader.latest(patientId).map((r) => r.value),
        [230],
      );
    });

    it('are found through the partial index, not by walking the patient’s history', () => {
      const plan = (sql: string) =>
        (
          ctx.store
            .sqlite!.prepare(`EXPLAIN QUERY PLAN ${sql}`)
            .all({ patient: 'p', from: NOW - HOUR, to: NOW }) as Array<{ detail: string }>
        ).map((r) => r.detail);
      for (const steps of [
        plan(`${chunksInRange('id, start_ms, sealed')} ORDER BY start_ms`),
        plan(`SELECT SUM(count) FROM (${chunksInRange('count')})`),
      ]) {
        const searches = steps.filter((d) => d.includes('reading_chunks'));
        assert.equal(searches.length, 2, steps.join(' | '));
        assert.match(
          searches[0]!,
          /USING INDEX reading_chunks_patient \(patient_id=\? AND start_ms>\? AND start_ms<\?\)/,
        );
        assert.match(searches[1]!, /USING INDEX reading_chunks_wide \(patient_id=\? AND end_ms>\?\)/);
      }
    });
  });
});
