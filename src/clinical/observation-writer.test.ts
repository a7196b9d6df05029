import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tempStore } from '../../test/support/temp-store.ts';
import { DeviceStore } from '../devices/devices.store.ts';
import { ObservationWriter } from './observation-writer.ts';
import type { TransactionStats } from './observation-writer-protocol.ts';
import { type AcceptedMessage, type ChunkPolicy, SqliteObservationStore } from './observations.store.ts';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const POLICY: ChunkPolicy = { maxReadings: 10, maxSpanMs: 3_600_000 };
const DECIMALS = [
  ['8867-4', 0],
  ['59408-5', 0],
] as const;

function message(deviceId: string, patientId: string, seq: number): AcceptedMessage {
  const readings = [
    { code: '8867-4', value: 60 + (seq % 30), tsMs: T0 + seq * 1000 },
    { code: '59408-5', value: 95 + (seq % 4), tsMs: T0 + seq * 1000 + 1 },
  ];
  return { deviceId, seq, hash: `h${seq}`, receivedMs: T0 + seq * 1000, parts: [{ patientId, readings }] };
}

describe('ingest writer thread', () => {
  let ctx: Awaited<ReturnType<typeof tempStore>>;
  let reader: SqliteObservationStore;
  const keyOf = (id: string) => {
    const key = ctx.keys.cachedDataKey('patient', id);
    if (!key) throw new Error(`data key of patient ${id} is not loaded`);
    return key;
  };
  const count = (sql: string) => (ctx.store.sqlite!.prepare(sql).get() as { n: number }).n;
  const start = (stagedKeys = new Map<string, Buffer>()) =>
    ObservationWriter.start({ file: ctx.store.sqlite!.name, decimals: DECIMALS, stagedKeys, policy: POLICY });

  before(async () => {
    ctx = await tempStore();
    for (const [device, patient] of [
      ['dev-1', 'pat-1'],
      ['dev-2', 'pat-2'],
      ['dev-3', 'pat-3'],
    ] as const) {
      await new DeviceStore(ctx.store.db).add({ id: device, model: 'm', serial: 's' });
      await ctx.keys.dataKey('patient', patient);
    }
    reader = new SqliteObservationStore(ctx.store.sqlite!, (c) => (c === '8867-4' ? 0 : 0), keyOf, POLICY);
  });
  after(() => ctx.cleanup());

  it('commits on its own connection: once the promise resolves, the main connection reads it', async () => {
    const writer = await start();
    try {
      await writer.commitBatch([message('dev-1', 'pat-1', 1), message('dev-2', 'pat-2', 1)], keyOf);
      assert.equal(reader.query('pat-1', { fromMs: T0, toMs: T0 + 60_000 }).length, 2);
      assert.deepEqual(reader.lastStored('dev-2'), { seq: 1, hash: 'h1' });
    } finally {
      await writer.close();
    }
  });

  it("wipes this thread's copy of each key it hands to the writer thread", async () => {
    await new DeviceStore(ctx.store.db).add({ id: 'dev-wipe', model: 'm', serial: 's' });
    await ctx.keys.dataKey('patient', 'pat-wipe');
    const writer = await start();
    const worker = (writer as unknown as { worker: { postMessage(m: unknown): void } }).worker;
    const sent: Uint8Array[] = [];
    const post = worker.postMessage.bind(worker);
    worker.postMessage = (m: unknown) => {
      post(m);
      for (const [, key] of (m as { keys?: Array<[string, Uint8Array]> }).keys ?? []) sent.push(key);
    };
    try {
      // Resolves once the thread sealed and staged the readings: it got a usable key.
      await writer.commitBatch([message('dev-wipe', 'pat-wipe', 1)], keyOf);
      assert.equal(sent.length, 1);
      assert.ok(
        sent[0]!.every((b) => b === 0),
        'the copy left on this thread is zeroed',
      );
      assert.ok(
        keyOf('pat-wipe').some((b) => b !== 0),
        "the ring's own key is left alone",
      );
    } finally {
      await writer.close();
    }
  });

  it('says it is dead and refuses commits once its thread is gone', async () => {
    const writer = await start();
    assert.equal(writer.alive, true);
    // The thread dies the way an out-of-memory or native crash would end it: from outside.
    await (writer as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await new Promise((r) => setImmediate(r));
    assert.equal(writer.alive, false);
    await assert.rejects(writer.commitBatch([message('dev-3', 'pat-3', 1)], keyOf), /writer thread exited/);
  });

  it('seals full runs into chunks outside the commit and loses or doubles no reading', async () => {
    const writer = await start();
    try {
      const batch = Array.from({ length: 12 }, (_, i) => message('dev-3', 'pat-3', i + 1));
      await writer.commitBatch(batch.slice(0, 6), keyOf);
      await writer.commitBatch(batch.slice(6), keyOf);
      for (
        let i = 0;
        i < 200 && count("SELECT count(*) n FROM reading_chunks WHERE patient_id = 'pat-3'") === 0;
        i++
      )
        await new Promise((r) => setTimeout(r, 10));
      assert.ok(count("SELECT count(*) n FROM reading_chunks WHERE patient_id = 'pat-3'") >= 1);
      const rows = reader.query('pat-3', { fromMs: T0, toMs: T0 + 60_000 });
      assert.equal(rows.length, 24);
      assert.equal(new Set(rows.map((r) => `${r.code}@${r.tsMs}`)).size, 24);
    } finally {
      await writer.close();
    }
    assert.equal(count("SELECT count(*) n FROM reading_staging WHERE patient_id = 'pat-3'"), 0);
  });

  it('rebuilds open runs from staging rows left by a crash, and seals them at close', async () => {
    const crashed = new SqliteObservationStore(ctx.store.sqlite!, () => 0, keyOf, POLICY);
    crashed.commitBatch([message('dev-1', 'pat-1', 2), message('dev-1', 'pat-1', 3)]);
    const staged = count("SELECT count(*) n FROM reading_staging WHERE patient_id = 'pat-1'");
    assert.ok(staged >= 2);
    const writer = await start(new Map([['pat-1', keyOf('pat-1')]]));
    await writer.close();
    assert.equal(count("SELECT count(*) n FROM reading_staging WHERE patient_id = 'pat-1'"), 0);
    assert.equal(reader.query('pat-1', { fromMs: T0, toMs: T0 + 60_000 }).length, 6);
  });

  it('forgets an erased patient on its thread: staged rows go and no chunk is sealed for them', async () => {
    const writer = await start();
    try {
      await writer.commitBatch([message('dev-1', 'pat-1', 10), message('dev-2', 'pat-2', 10)], keyOf);
      await writer.forgetPatient('pat-1');
      assert.equal(count("SELECT count(*) n FROM reading_staging WHERE patient_id = 'pat-1'"), 0);
      const chunksBefore = count("SELECT count(*) n FROM reading_chunks WHERE patient_id = 'pat-1'");
      await writer.sealOpenChunks();
      assert.equal(count("SELECT count(*) n FROM reading_chunks WHERE patient_id = 'pat-1'"), chunksBefore);
      assert.equal(count("SELECT count(*) n FROM reading_staging WHERE patient_id = 'pat-2'"), 0);
    } finally {
      await writer.close();
    }
  });

  it('fails a whole batch, storing nothing, when a patient key is gone (erased)', async () => {
    const writer = await start();
    try {
      const noKeyFor = (erased: string) => (id: string) => {
        if (id === erased) throw new Error(`data key of patient ${id} is not loaded`);
        return keyOf(id);
      };
      await writer.commitBatch([message('dev-1', 'pat-1', 20)], keyOf);
      await assert.rejects(
        writer.commitBatch([message('dev-2', 'pat-2', 20), message('dev-1', 'pat-1', 21)], noKeyFor('pat-1')),
        /not loaded/,
      );
      assert.equal(count("SELECT count(*) n FROM reading_staging WHERE device_id = 'dev-2' AND seq = 20"), 0);
      assert.deepEqual(reader.lastStored('dev-1'), { seq: 20, hash: 'h20' });
    } finally {
      await writer.close();
    }
  });

  it('gathers batches handed over while it commits into its next transaction, and answers each', async () => {
    const transactions: TransactionStats[] = [];
    const writer = await ObservationWriter.start({
      file: ctx.store.sqlite!.name,
      decimals: DECIMALS,
      stagedKeys: new Map(),
      policy: POLICY,
      maxMessagesPerTransaction: 30,
      onTransaction: (t) => transactions.push(t),
    });
    try {
      // 60 batches of one message, handed over without waiting, as the group committer does.
      const handed = Array.from({ length: 60 }, (_, i) =>
        writer.commitBatch([message('dev-2', 'pat-2', 100 + i)], keyOf),
      );
      await Promise.all(handed);
      assert.equal(
        transactions.reduce((n, t) => n + t.messages, 0),
        60,
      );
      // The first transaction takes what is there when it begins; the rest wait and go together.
      assert.ok(transactions.length < 10, `${transactions.length} transactions for 60 batches`);
      assert.ok(
        transactions.every((t) => t.messages <= 30),
        'a transaction never takes more than maxMessagesPerTransaction',
      );
      assert.deepEqual(reader.lastStored('dev-2'), { seq: 159, hash: 'h159' });
    } finally {
      await writer.close();
    }
  });

  it('refuses work after close instead of hanging', async () => {
    const writer = await start();
    await writer.close();
    await assert.rejects(writer.commitBatch([message('dev-1', 'pat-1', 30)], keyOf), /closed/);
  });

  it("reports a data_version that its own commits leave alone and other connections' move", async () => {
    const writer = await start();
    try {
      const before = await writer.dataVersion();
      await writer.commitBatch([message('dev-1', 'pat-1', 50)], keyOf);
      await writer.sealOpenChunks();
      assert.equal(
        await writer.dataVersion(),
        before,
        'its own ingest commits must not look like outside changes',
      );
      // As the CLI or the event loop would: a change committed on another connection.
      await new DeviceStore(ctx.store.db).add({ id: 'dev-v', model: 'm', serial: 's' });
      assert.notEqual(await writer.dataVersion(), before);
    } finally {
      await writer.close();
    }
  });
});
