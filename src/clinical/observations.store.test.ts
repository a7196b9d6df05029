import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tempStore } from '../../test/support/temp-store.ts';
import { DeviceStore } from '../devices/devices.store.ts';
import { isVigilError } from '../errors/catalogue.ts';
import { ERASED_FINGERPRINT } from '../ingest/message-fingerprint.ts';
import { DEFAULT_RECEIVE_MAXIMUM } from '../ingest/mqtt/gateway.ts';
import { type AcceptedMessage, REDELIVERY_WINDOW, SqliteObservationStore } from './observations.store.ts';
import { PatientStore } from './patients.store.ts';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const decimalsOf = (code: string) => (code === '8310-5' ? 1 : 0);

function message(deviceId: string, patientId: string, seq: number, n = 2): AcceptedMessage {
  const readings = Array.from({ length: n }, (_, i) => ({
    code: i % 2 ? '59408-5' : '8867-4',
    value: i % 2 ? 97 : 72 + (seq % 5),
    tsMs: T0 + seq * 1000 + i,
  }));
  return { deviceId, seq, hash: `h${seq}`, receivedMs: T0 + seq * 1000, parts: [{ patientId, readings }] };
}

describe('observation store (SQLite)', () => {
  let ctx: Awaited<ReturnType<typeof tempStore>>;
  let store: SqliteObservationStore;
  const keyOf = (id: string) => ctx.keys.cachedDataKey('patient', id)!;

  before(async () => {
    ctx = await tempStore();
    for (const [id, p] of [
      ['dev-1', 'pat-1'],
      ['dev-2', 'pat-2'],
    ]) {
      await new DeviceStore(ctx.store.db).add({ id: id!, model: 'm', serial: 's' });
      await ctx.keys.dataKey('patient', p!);
    }
    store = new SqliteObservationStore(ctx.store.sqlite!, decimalsOf, keyOf, {
      maxReadings: 10,
      maxSpanMs: 3_600_000,
    });
  });
  after(() => ctx.cleanup());

  it('reads back what it committed, per patient and code', () => {
    store.commitBatch([message('dev-1', 'pat-1', 1), message('dev-2', 'pat-2', 1)]);
    const rows = store.query('pat-1', { fromMs: T0, toMs: T0 + 10_000, codes: new Set(['8867-4']) });
    assert.deepEqual(
      rows.map((r) => [r.code, r.value, r.deviceId]),
      [['8867-4', 73, 'dev-1']],
    );
  });

  it('seals full runs into chunks and still answers the same readings', () => {
    for (let seq = 2; seq <= 12; seq++) store.commitBatch([message('dev-1', 'pat-1', seq)]);
    const chunks = ctx.store
      .sqlite!.prepare("SELECT count(*) n FROM reading_chunks WHERE patient_id = 'pat-1'")
      .get() as { n: number };
    assert.ok(chunks.n >= 1);
    const rows = store.query('pat-1', { fromMs: T0, toMs: T0 + 60_000 });
    assert.equal(rows.length, 24);
    assert.deepEqual(
      rows.map((r) => r.tsMs),
      [...rows.map((r) => r.tsMs)].sort((a, b) => a - b),
    );
  });

  it('does not store a redelivered message twice', () => {
    store.commitBatch([message('dev-2', 'pat-2', 2)]);
    store.commitBatch([message('dev-2', 'pat-2', 2)]);
    assert.equal(store.query('pat-2', { fromMs: T0, toMs: T0 + 60_000 }).length, 4);
  });

  it('records the last stored seq of the device in the same transaction', () => {
    assert.deepEqual(store.lastStored('dev-2'), { seq: 2, hash: 'h2' });
  });

  it('keeps values sealed at rest: a value moved to another patient does not open', () => {
    const raw = ctx.store
      .sqlite!.prepare("SELECT sealed FROM reading_staging WHERE patient_id = 'pat-2' LIMIT 1")
      .get() as { sealed: Buffer };
    assert.ok(!raw.sealed.includes(Buffer.from('97')));
    ctx.store
      .sqlite!.prepare("UPDATE reading_staging SET patient_id = 'pat-1' WHERE patient_id = 'pat-2'")
      .run();
    assert.throws(
      () => store.query('pat-1', { fromMs: T0, toMs: T0 + 60_000 }),
      (e) => isVigilError(e) && e.code === 'VIGIL_ERR_CRYPTO_OPEN_FAILED',
    );
    ctx.store
      .sqlite!.prepare("UPDATE reading_staging SET patient_id = 'pat-2' WHERE device_id = 'dev-2'")
      .run();
  });

  it('rebuilds open runs after a restart from the staging rows', () => {
    const again = new SqliteObservationStore(ctx.store.sqlite!, decimalsOf, keyOf, {
      maxReadings: 10,
      maxSpanMs: 3_600_000,
    });
    again.reloadOpenChunks();
    assert.equal(again.sealOpenChunks() >= 1, true);
    assert.equal(again.query('pat-1', { fromMs: T0, toMs: T0 + 60_000 }).length, 24);
    const staged = ctx.store.sqlite!.prepare('SELECT count(*) n FROM reading_staging').get() as { n: number };
    assert.equal(staged.n, 0);
  });

  it("keeps the hashes of a device's newest sealed messages for the redelivery window after a restart", async () => {
    await new DeviceStore(ctx.store.db).add({ id: 'dev-3', model: 'm', serial: 's' });
    await ctx.keys.dataKey('patient', 'pat-3');
    // A device may have this many messages committed and not yet acknowledged when Vigil dies.
    assert.ok(REDELIVERY_WINDOW >= DEFAULT_RECEIVE_MAXIMUM);
    // Runs of 5 messages (10 readings): every seal deletes staging rows, hashes and all.
    const total = REDELIVERY_WINDOW + 42;
    for (let seq = 1; seq <= total; seq++) store.commitBatch([message('dev-3', 'pat-3', seq)]);
    const restarted = new SqliteObservationStore(ctx.store.sqlite!, decimalsOf, keyOf);
    const known = new Map(
      restarted
        .recentMessages()
        .filter((m) => m.deviceId === 'dev-3')
        .map((m) => [m.seq, m.hash]),
    );
    for (let seq = total - REDELIVERY_WINDOW + 1; seq <= total; seq++) {
      assert.equal(known.get(seq), `h${seq}`, `seq ${seq} must stay recognisable as a redelivery`);
    }
    const kept = ctx.store
      .sqlite!.prepare("SELECT count(*) n, min(seq) lo FROM redelivery_window WHERE device_id = 'dev-3'")
      .get() as { n: number; lo: number };
    assert.equal(kept.n, REDELIVERY_WINDOW, 'trimmed to the window at every seal');
    assert.equal(kept.lo, total - REDELIVERY_WINDOW + 1);
    assert.ok(!known.has(1), 'the oldest messages are forgotten');
  });
});

describe('observation store: forgetting an erased patient', () => {
  let ctx: Awaited<ReturnType<typeof tempStore>>;
  let patients: PatientStore;
  const lastHash = (deviceId: string) =>
    (
      ctx.store.sqlite!.prepare('SELECT last_hash FROM devices WHERE id = ?').get(deviceId) as {
        last_hash: string;
      }
    ).last_hash;

  before(async () => {
    ctx = await tempStore();
    patients = new PatientStore(ctx.store.db, ctx.keys);
  });
  after(() => ctx.cleanup());

  /**
   * The server's writer still holds the patient's key when the erasure is committed (a batch
   * in flight, or `vigil patient erase` run from the CLI, which the server learns of at its next
   * poll), stores one more of their messages, then forgets the patient.
   */
  async function storedAfterErase(patientId: string, deviceId: string, sealBeforeForget: boolean) {
    await patients.add(patientId, { name: 'Erased' });
    await new DeviceStore(ctx.store.db).add({ id: deviceId, model: 'm', serial: 's' });
    await new DeviceStore(ctx.store.db).assign(deviceId, patientId);
    const writerKey = Buffer.from(await ctx.keys.dataKey('patient', patientId));
    const writer = new SqliteObservationStore(ctx.store.sqlite!, decimalsOf, () => writerKey);
    writer.commitBatch([message(deviceId, patientId, 1)]);
    await patients.erase(patientId);
    assert.equal(lastHash(deviceId), ERASED_FINGERPRINT);
    writer.commitBatch([message(deviceId, patientId, 2)]);
    if (sealBeforeForget) writer.sealOpenChunks();
    assert.equal(lastHash(deviceId), 'h2');
    return writer;
  }

  it('leaves no fingerprint of a message it stored after the erasure, still staged', async () => {
    const writer = await storedAfterErase('erased-1', 'dev-e1', false);
    writer.forgetPatient('erased-1');
    assert.equal(lastHash('dev-e1'), ERASED_FINGERPRINT);
  });

  it('leaves no fingerprint of a message it stored after the erasure, already sealed', async () => {
    const writer = await storedAfterErase('erased-2', 'dev-e2', true);
    writer.forgetPatient('erased-2');
    assert.equal(lastHash('dev-e2'), ERASED_FINGERPRINT);
    const left = ctx.store
      .sqlite!.prepare("SELECT count(*) n FROM redelivery_window WHERE patient_id = 'erased-2'")
      .get() as { n: number };
    assert.equal(left.n, 0);
  });

  it("keeps a device's last fingerprint when that message was another patient's", async () => {
    await ctx.keys.dataKey('patient', 'kept-1');
    const writer = new SqliteObservationStore(
      ctx.store.sqlite!,
      decimalsOf,
      (id) => ctx.keys.cachedDataKey('patient', id)!,
    );
    await new DeviceStore(ctx.store.db).add({ id: 'dev-e3', model: 'm', serial: 's' });
    await ctx.keys.dataKey('patient', 'erased-3');
    writer.commitBatch([message('dev-e3', 'erased-3', 1)]);
    writer.commitBatch([message('dev-e3', 'kept-1', 2)]);
    writer.forgetPatient('erased-3');
    assert.equal(lastHash('dev-e3'), 'h2');
  });
});
