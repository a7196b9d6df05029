import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { tempStore } from '../../test/support/temp-store.ts';
import { DeviceStore } from '../devices/devices.store.ts';
import { type AcceptedMessage, SqliteObservationStore } from './observations.store.ts';
import type { Reading } from './readings-codec.ts';
import { SeriesStore } from './series.store.ts';
import { SeriesReader, type SeriesRow } from './series.ts';

const T0 = Date.parse('2026-11-22T00:00:00Z');
const HR = '8867-4';
const SPO2 = '59408-5';
const decimalsOf = () => 0;

function message(deviceId: string, patientId: string, seq: number, readings: Reading[]): AcceptedMessage {
  return { deviceId, seq, hash: `h${seq}`, receivedMs: T0, parts: [{ patientId, readings }] };
}

/** Six hours and five minutes of one reading a minute each of heart rate and SpO2, from two devices. */
function day(): AcceptedMessage[] {
  const out: AcceptedMessage[] = [];
  for (let m = 0; m < 365; m++) {
    const ts = T0 + m * 60_000;
    out.push(
      message('dev-a', 'pat-1', m + 1, [
        { code: HR, value: 60 + (m % 40), tsMs: ts },
        { code: SPO2, value: 90 + (m % 10), tsMs: ts },
      ]),
    );
    if (m % 3 === 0) out.push(message('dev-b', 'pat-1', m + 1, [{ code: HR, value: 100, tsMs: ts }]));
  }
  // A device that repeats a timestamp: both readings are kept and told apart by ordinal.
  out.push(message('dev-b', 'pat-1', 1000, [{ code: HR, value: 101, tsMs: T0 }]));
  return out;
}

describe('series reader (SQLite)', () => {
  let ctx: Awaited<ReturnType<typeof tempStore>>;
  let observations: SqliteObservationStore;
  let reader: SeriesReader;
  let all: SeriesRow[];
  const keyOf = (id: string) => ctx.keys.cachedDataKey('patient', id)!;
  const key = (r: SeriesRow) => `${r.tsMs}|${r.code}|${r.deviceId}|${r.n}|${r.value}`;

  before(async () => {
    ctx = await tempStore();
    for (const id of ['dev-a', 'dev-b'])
      await new DeviceStore(ctx.store.db).add({ id, model: 'm', serial: 's' });
    await ctx.keys.dataKey('patient', 'pat-1');
    observations = new SqliteObservationStore(ctx.store.sqlite!, decimalsOf, keyOf, {
      maxReadings: 50,
      maxSpanMs: 3_600_000,
    });
    // Most readings end up in sealed chunks, the newest stay in staging rows.
    const messages = day();
    for (let i = 0; i < messages.length; i += 10) observations.commitBatch(messages.slice(i, i + 10));
    reader = new SeriesReader(new SeriesStore(ctx.store.sqlite!, keyOf));
    all = reader.keyed('pat-1', { fromMs: T0 - 1, toMs: T0 + 86_400_000 });
  });
  after(() => ctx.cleanup());

  it('reads the same readings as the observation store, chunks and staging rows alike', () => {
    const staged = ctx.store.sqlite!.prepare('SELECT COUNT(*) AS n FROM reading_staging').get() as {
      n: number;
    };
    assert.ok(staged.n > 0, 'some readings are still in staging rows');
    const reference = observations.query('pat-1', { fromMs: T0 - 1, toMs: T0 + 86_400_000 });
    assert.equal(all.length, reference.length);
    assert.deepEqual(
      all.map((r) => `${r.tsMs}|${r.code}|${r.deviceId}|${r.value}`).sort(),
      reference.map((r) => `${r.tsMs}|${r.code}|${r.deviceId}|${r.value}`).sort(),
    );
    assert.deepEqual(
      all.filter((r) => r.tsMs === T0 && r.deviceId === 'dev-b').map((r) => [r.value, r.n]),
      [
        [100, 0],
        [101, 1],
      ],
    );
  });

  for (const limit of [1, 7, 100, 5000]) {
    for (const descending of [false, true]) {
      it(`pages through every reading once with limit ${limit}${descending ? ', newest first' : ''}`, () => {
        const seen: SeriesRow[] = [];
        let after: SeriesRow | undefined;
        for (let pages = 0; pages < 2000; pages++) {
          const page = reader.page('pat-1', {
            fromMs: T0 - 1,
            toMs: T0 + 86_400_000,
            limit,
            descending,
            after,
          });
          seen.push(...page.rows);
          assert.ok(page.rows.length <= limit);
          if (!page.next) break;
          after = page.rows[page.rows.length - 1];
        }
        const expected = descending ? [...all].reverse() : all;
        assert.deepEqual(seen.map(key), expected.map(key));
      });
    }
  }

  it('keeps to the range and the codes asked', () => {
    const page = reader.page('pat-1', {
      fromMs: T0 + 3_600_000,
      toMs: T0 + 2 * 3_600_000 - 1,
      codes: new Set([SPO2]),
      limit: 1000,
    });
    assert.equal(page.rows.length, 60);
    assert.ok(page.rows.every((r) => r.code === SPO2 && r.tsMs >= T0 + 3_600_000 && r.tsMs < T0 + 7_200_000));
  });

  it('gives time-ordered points per code for downsampling', () => {
    const points = reader.points('pat-1', { fromMs: T0, toMs: T0 + 86_400_000 });
    assert.deepEqual([...points.keys()].sort(), [HR, SPO2].sort());
    const hr = points.get(HR)!;
    assert.equal(hr.t.length, all.filter((r) => r.code === HR).length);
    for (let i = 1; i < hr.t.length; i++) assert.ok(hr.t[i]! >= hr.t[i - 1]!);
  });

  it('answers the newest reading of each code', () => {
    const latest = reader.latest('pat-1');
    const newest = (code: string) => all.filter((r) => r.code === code).at(-1);
    assert.deepEqual(latest.map(key), [newest(SPO2)!, newest(HR)!].map(key));
  });

  it('answers nothing for a patient without readings', async () => {
    await ctx.keys.dataKey('patient', 'pat-2');
    assert.deepEqual(reader.latest('pat-2'), []);
    assert.deepEqual(reader.page('pat-2', { fromMs: 0, toMs: T0, limit: 10 }), { rows: [], next: undefined });
  });
});

describe('latest value per code across devices', () => {
  it('finds the newest reading of a code even when another chunk ends later', async () => {
    const ctx = await tempStore();
    try {
      for (const id of ['dev-x', 'dev-y'])
        await new DeviceStore(ctx.store.db).add({ id, model: 'm', serial: 's' });
      await ctx.keys.dataKey('patient', 'pat-9');
      const keyOf = (id: string) => ctx.keys.cachedDataKey('patient', id)!;
      const store = new SqliteObservationStore(ctx.store.sqlite!, decimalsOf, keyOf);
      // dev-x: SpO2 until minute 10, heart rate until minute 60 (its chunk ends at 60);
      // dev-y: one SpO2 at minute 30, in a chunk ending at 30.
      const x: Reading[] = [];
      for (let m = 0; m <= 60; m++) {
        x.push({ code: HR, value: 70, tsMs: T0 + m * 60_000 });
        if (m <= 10) x.push({ code: SPO2, value: 95, tsMs: T0 + m * 60_000 });
      }
      store.commitBatch([
        message('dev-x', 'pat-9', 1, x),
        message('dev-y', 'pat-9', 1, [{ code: SPO2, value: 91, tsMs: T0 + 30 * 60_000 }]),
      ]);
      store.sealOpenChunks();
      const latest = new SeriesReader(new SeriesStore(ctx.store.sqlite!, keyOf)).latest('pat-9');
      assert.deepEqual(
        latest.map((r) => [r.code, r.deviceId, (r.tsMs - T0) / 60_000, r.value]),
        [
          [SPO2, 'dev-y', 30, 91],
          [HR, 'dev-x', 60, 70],
        ],
      );
    } finally {
      await ctx.cleanup();
    }
  });
});

describe('cost of reads over a long record', () => {
  const WEIGHT = '29463-7';
  const DAY = 86_400_000;
  let ctx: Awaited<ReturnType<typeof tempStore>>;
  let store: SeriesStore;
  let decoded = 0;
  let decodedHeartRate = 0;
  const keyOf = (id: string) => ctx.keys.cachedDataKey('patient', id)!;

  before(async () => {
    ctx = await tempStore();
    for (const id of ['dev-hr', 'dev-scale'])
      await new DeviceStore(ctx.store.db).add({ id, model: 'm', serial: 's' });
    await ctx.keys.dataKey('patient', 'pat-l');
    const observations = new SqliteObservationStore(ctx.store.sqlite!, decimalsOf, keyOf);
    // Three days of heart rate once a minute (4,320 readings in chunks of about two hours) and
    // one body weight a day.
    const messages: AcceptedMessage[] = [];
    for (let m = 0; m < 3 * 1440; m += 60) {
      const hour = Array.from({ length: 60 }, (_, i) => ({
        code: HR,
        value: 60 + (i % 20),
        tsMs: T0 + (m + i) * 60_000,
      }));
      messages.push(message('dev-hr', 'pat-l', m + 1, hour));
    }
    for (let d = 0; d < 3; d++)
      messages.push(message('dev-scale', 'pat-l', d + 1, [{ code: WEIGHT, value: 80, tsMs: T0 + d * DAY }]));
    for (const m of messages) observations.commitBatch([m]);
    observations.sealOpenChunks();
    store = new SeriesStore(ctx.store.sqlite!, keyOf);
    // Counts what a read decodes, through the real store.
    const blocks = store.blocks.bind(store);
    store.blocks = (...args) => {
      const out = blocks(...args);
      for (const b of out) {
        decoded += b.length;
        if (b.deviceId === 'dev-hr') decodedHeartRate += b.length;
      }
      return out;
    };
  });
  after(() => ctx.cleanup());

  it('starts a page without a lower bound at the first reading, not in 1970', () => {
    decoded = 0;
    const page = new SeriesReader(store).page('pat-l', { fromMs: 0, toMs: T0 + 400 * DAY, limit: 1 });
    assert.deepEqual(
      page.rows.map((r) => [r.code, r.tsMs - T0]),
      [[WEIGHT, 0]],
    );
    assert.ok(decoded < 1000, `decoded ${decoded} readings for a page of one`);
  });

  it('starts a newest-first page at the last reading, not at the upper bound', () => {
    decoded = 0;
    const page = new SeriesReader(store).page('pat-l', {
      fromMs: 0,
      toMs: T0 + 400 * DAY,
      limit: 1,
      descending: true,
    });
    assert.deepEqual(
      page.rows.map((r) => [r.code, r.tsMs - T0]),
      [[HR, (3 * 1440 - 1) * 60_000]],
    );
    assert.ok(decoded < 1000, `decoded ${decoded} readings for a page of one`);
  });

  it('opens no chunk without an asked code', () => {
    decodedHeartRate = 0;
    const page = new SeriesReader(store).page('pat-l', {
      fromMs: 0,
      toMs: T0 + 400 * DAY,
      codes: new Set([WEIGHT]),
      limit: 10,
    });
    assert.deepEqual(
      page.rows.map((r) => r.value),
      [80, 80, 80],
    );
    assert.equal(page.next, undefined);
    assert.equal(decodedHeartRate, 0);
  });

  it('answers an empty page for a range without readings of the code', () => {
    const reader = new SeriesReader(store);
    assert.deepEqual(reader.page('pat-l', { fromMs: 0, toMs: T0 - 1, limit: 5 }), {
      rows: [],
      next: undefined,
    });
    assert.deepEqual(reader.page('pat-l', { fromMs: 0, toMs: T0 + DAY, codes: new Set([SPO2]), limit: 5 }), {
      rows: [],
      next: undefined,
    });
    assert.deepEqual(reader.page('pat-none', { fromMs: 0, toMs: T0 + DAY, limit: 5 }), {
      rows: [],
      next: undefined,
    });
  });

  it('counts only the chunks that may hold an asked code against the cost limit', () => {
    const reader = new SeriesReader(store, 1000);
    const range = { fromMs: 0, toMs: T0 + 400 * DAY };
    assert.equal(store.readingsInRange('pat-l', range.fromMs, range.toMs, new Set([WEIGHT])), 3);
    const weight = reader.points('pat-l', { ...range, codes: new Set([WEIGHT]) });
    assert.deepEqual([...(weight.get(WEIGHT)?.v ?? [])], [80, 80, 80]);
    assert.throws(
      () => reader.points('pat-l', range),
      (e: Error) => /holds about 4323 readings, more than the 1000/.test(e.message),
    );
  });
});

describe('ordinals of readings repeating a time, code and device', () => {
  it('stay with their readings when a later run is sealed into a chunk that starts earlier', async () => {
    const ctx = await tempStore();
    try {
      await new DeviceStore(ctx.store.db).add({ id: 'dev-r', model: 'm', serial: 's' });
      await ctx.keys.dataKey('patient', 'pat-r');
      const keyOf = (id: string) => ctx.keys.cachedDataKey('patient', id)!;
      const store = new SqliteObservationStore(ctx.store.sqlite!, decimalsOf, keyOf, {
        maxReadings: 4,
        maxSpanMs: 3_600_000,
      });
      const reader = new SeriesReader(new SeriesStore(ctx.store.sqlite!, keyOf));
      const atT0 = () => reader.keyed('pat-r', { fromMs: T0, toMs: T0 }).map((r) => [r.value, r.n] as const);
      // Run 1 (sealed, starts at T0) holds 80; run 2 repeats T0 with 70 and stays in staging.
      const run1 = [80, 60, 60, 60].map((value, i) => ({ code: HR, value, tsMs: T0 + i * 1000 }));
      store.commitBatch([message('dev-r', 'pat-r', 1, run1)]);
      store.commitBatch([message('dev-r', 'pat-r', 2, [{ code: HR, value: 70, tsMs: T0 }])]);
      const before = atT0();
      // Run 2 fills up with readings from before T0: its chunk starts earlier than run 1's.
      const backfill = [1, 2, 3].map((m) => ({ code: HR, value: 65, tsMs: T0 - m * 60_000 }));
      store.commitBatch([message('dev-r', 'pat-r', 3, backfill)]);
      const staged = ctx.store.sqlite!.prepare('SELECT COUNT(*) AS n FROM reading_staging').get() as {
        n: number;
      };
      assert.equal(staged.n, 0, 'run 2 was sealed');
      assert.deepEqual(atT0(), before);
      assert.deepEqual(before, [
        [70, 0],
        [80, 1],
      ]);
    } finally {
      await ctx.cleanup();
    }
  });
});

describe('one snapshot per read while the ingest writer seals', () => {
  /**
   * The writer commits on a connection of its own. Here it seals the open run (staging rows
   * into a chunk) just before the reader's first statement on staging rows that starts with
   * `stagingSql`, as a commit landing between two statements would in the server.
   */
  async function withSealBefore(
    stagingSql: string,
    read: (reader: SeriesReader) => unknown,
  ): Promise<{ answer: unknown; sealed: number }> {
    const ctx = await tempStore();
    const readerDb = ctx.store.sqlite!;
    const writerDb = new Database(readerDb.name);
    try {
      await new DeviceStore(ctx.store.db).add({ id: 'dev-s', model: 'm', serial: 's' });
      await ctx.keys.dataKey('patient', 'pat-s');
      const keyOf = (id: string) => ctx.keys.cachedDataKey('patient', id)!;
      const writer = new SqliteObservationStore(writerDb, decimalsOf, keyOf);
      const readings = Array.from({ length: 10 }, (_, m) => ({
        code: HR,
        value: 70 + m,
        tsMs: T0 + m * 60_000,
      }));
      writer.commitBatch([message('dev-s', 'pat-s', 1, readings)]);
      let sealed = 0;
      const sealFirst =
        <A extends unknown[], R>(run: (...args: A) => R) =>
        (...args: A) => {
          if (sealed === 0) sealed = writer.sealOpenChunks();
          return run(...args);
        };
      const db = new Proxy(readerDb, {
        get(target, prop) {
          if (prop === 'prepare')
            return (sql: string) => {
              const statement = target.prepare(sql);
              if (!sql.startsWith(stagingSql)) return statement;
              return {
                all: sealFirst(statement.all.bind(statement)),
                get: sealFirst(statement.get.bind(statement)),
              };
            };
          const value = Reflect.get(target, prop, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const answer = read(new SeriesReader(new SeriesStore(db, keyOf)));
      return { answer, sealed };
    } finally {
      writerDb.close();
      await ctx.cleanup();
    }
  }

  it('latest finds readings sealed into a chunk after it looked for chunks', async () => {
    const { answer, sealed } = await withSealBefore('SELECT MIN(min_ts)', (r) =>
      r.latest('pat-s').map((x) => [x.code, (x.tsMs - T0) / 60_000, x.value]),
    );
    assert.equal(sealed, 1, 'the writer sealed the run between the two reads');
    assert.deepEqual(answer, [[HR, 9, 79]]);
  });

  it('a range read finds readings sealed into a chunk between its chunk and staging reads', async () => {
    const { answer, sealed } = await withSealBefore('SELECT device_id, seq', (r) =>
      r.keyed('pat-s', { fromMs: T0, toMs: T0 + 3_600_000 }).map((x) => x.value),
    );
    assert.equal(sealed, 1, 'the writer sealed the run between the two reads');
    assert.deepEqual(answer, [70, 71, 72, 73, 74, 75, 76, 77, 78, 79]);
  });
});
