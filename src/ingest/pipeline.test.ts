/**
 * The pipeline's promise to a device: an acknowledgement means stored. These cases put a failing
 * commit (a full disk, a locked database) under it, the one thing the end-to-end tests cannot
 * provoke at will.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AcceptedMessage } from '../clinical/observations.store.ts';
import type { KeyRing } from '../crypto/key-ring.ts';
import { DeviceDirectory } from '../devices/device-directory.ts';
import type { DeviceStore } from '../devices/devices.store.ts';
import { isVigilError } from '../errors/catalogue.ts';
import { createMetrics } from '../observability/metrics.ts';
import { GroupCommitter } from '../store/group-commit.ts';
import { messageFingerprinter } from './message-fingerprint.ts';
import { IngestPipeline } from './pipeline.ts';
import type { LastMessage } from './replay-guard.ts';
import { CodeRegistry } from './vital-codes.ts';

const DEVICE = 'ox-1';

/** A pipeline over a real directory and group committer; `commit` decides each batch's fate. */
async function pipelineWith(
  commit: (batch: AcceptedMessage[]) => Promise<void>,
  opts: { assignedFromMs?: number } = {},
) {
  const store = {
    snapshot: async () => ({
      devices: [{ id: DEVICE, status: 'active', lastSeq: null, lastHash: null }],
      assignments: [{ deviceId: DEVICE, patientId: 'p-1', fromMs: opts.assignedFromMs ?? 0, toMs: null }],
      certificates: [],
    }),
  } as unknown as DeviceStore;
  const directory = new DeviceDirectory(store);
  await directory.refresh();
  const stored = new Map<number, string>();
  const keys = { cachedDataKey: () => Buffer.alloc(32) } as unknown as KeyRing;
  const pipeline = new IngestPipeline({
    registry: new CodeRegistry(),
    directory,
    keys,
    committer: new GroupCommitter<AcceptedMessage>({
      windowMs: 0,
      maxBatch: 1,
      commit: async (batch) => {
        await commit(batch);
        for (const m of batch) stored.set(m.seq, m.hash);
      },
    }),
    metrics: createMetrics(),
    limits: { maxPayloadBytes: 65_536, maxFutureMs: 300_000, maxPastMs: 30 * 86_400_000 },
    fingerprint: messageFingerprinter(Buffer.alloc(32, 7)),
    lastStored: (): LastMessage | undefined => {
      const seq = Math.max(-1, ...stored.keys());
      return seq < 0 ? undefined : { seq, hash: stored.get(seq) ?? '' };
    },
  });
  return { pipeline, stored };
}

const message = (seq: number, value = 72, ts = new Date()) =>
  Buffer.from(
    JSON.stringify({ seq, ts: ts.toISOString(), readings: [{ code: '8867-4', value, unit: '/min' }] }),
  );

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (isVigilError(e) ? e.code : `not a VigilError: ${String(e)}`),
  );

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('IngestPipeline and a failing commit', () => {
  it('answers a redelivery of a message whose commit then fails with STORE_FAILED, not "duplicate"', async () => {
    const { pipeline, stored } = await pipelineWith(async () => {
      await tick(30);
      throw new Error('SQLITE_FULL: database or disk is full');
    });
    const m = message(10);
    const original = codeOf(pipeline.accept(DEVICE, m, 'mqtt'));
    await tick(5);
    // The device reconnected before its PUBACK came and sends the same bytes again (DUP).
    const redelivery = codeOf(pipeline.accept(DEVICE, m, 'mqtt'));
    assert.equal(await original, 'VIGIL_ERR_INGEST_STORE_FAILED');
    assert.equal(await redelivery, 'VIGIL_ERR_INGEST_STORE_FAILED');
    assert.equal(stored.size, 0);
  });

  it('stores the resend of a message whose commit failed, instead of acknowledging it unstored', async () => {
    let failNext = true;
    const { pipeline, stored } = await pipelineWith(async () => {
      if (failNext) {
        failNext = false;
        throw new Error('SQLITE_BUSY');
      }
    });
    const m = message(10);
    assert.equal(await codeOf(pipeline.accept(DEVICE, m, 'mqtt')), 'VIGIL_ERR_INGEST_STORE_FAILED');
    assert.deepEqual(await pipeline.accept(DEVICE, m, 'mqtt'), { stored: 1 });
    assert.deepEqual([...stored.keys()], [10]);
  });

  it('refuses a resend once a later message was stored, rather than acknowledging it unstored', async () => {
    const { pipeline, stored } = await pipelineWith(async (batch) => {
      await tick(5);
      if (batch.some((m) => m.seq === 10)) throw new Error('SQLITE_IOERR');
    });
    const ten = message(10);
    const first = codeOf(pipeline.accept(DEVICE, ten, 'mqtt'));
    const eleven = pipeline.accept(DEVICE, message(11), 'mqtt');
    assert.equal(await first, 'VIGIL_ERR_INGEST_STORE_FAILED');
    assert.deepEqual(await eleven, { stored: 1 });
    // seq only rises per device, so 10 can no longer be stored; the device is told, not misled.
    assert.equal(await codeOf(pipeline.accept(DEVICE, ten, 'mqtt')), 'VIGIL_ERR_INGEST_REPLAY');
    assert.deepEqual([...stored.keys()], [11]);
  });

  it('keeps a later seq claimed while it commits, so another message cannot take it', async () => {
    const { pipeline, stored } = await pipelineWith(async (batch) => {
      await tick(10);
      if (batch.some((m) => m.seq === 10)) throw new Error('SQLITE_IOERR');
    });
    const first = codeOf(pipeline.accept(DEVICE, message(10), 'mqtt'));
    const eleven = pipeline.accept(DEVICE, message(11, 72), 'mqtt');
    assert.equal(await first, 'VIGIL_ERR_INGEST_STORE_FAILED');
    // 11 is still committing: a different message with seq 11 is a replay, not a new message.
    assert.equal(await codeOf(pipeline.accept(DEVICE, message(11, 130), 'mqtt')), 'VIGIL_ERR_INGEST_REPLAY');
    assert.deepEqual(await eleven, { stored: 1 });
    assert.deepEqual([...stored.keys()], [11]);
  });
});

describe('IngestPipeline refusals', () => {
  it('says which reading has no patient without quoting its time (patient data)', async () => {
    const { pipeline } = await pipelineWith(async () => {}, { assignedFromMs: Date.now() - 60_000 });
    const taken = new Date(Date.now() - 3_600_000);
    const refusal = await pipeline.accept(DEVICE, message(1, 72, taken), 'mqtt').then(
      () => assert.fail('accepted a reading from before the assignment'),
      (e: unknown) => e,
    );
    assert.ok(isVigilError(refusal));
    assert.equal(refusal.code, 'VIGIL_ERR_INGEST_NO_PATIENT');
    assert.match(refusal.detail, /readings\[0\]/);
    assert.doesNotMatch(refusal.detail, new RegExp(taken.toISOString().slice(0, 13)));
  });
});
