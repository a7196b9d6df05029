import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupCommitter } from './group-commit.ts';

describe('group commit', () => {
  it('settles each submit only after the batch holding it committed', async () => {
    const committed: number[][] = [];
    const gc = new GroupCommitter<number>({
      windowMs: 2,
      maxBatch: 100,
      commit: (items) => void committed.push(items),
    });
    const all = Promise.all([1, 2, 3].map((n) => gc.submit(n)));
    assert.equal(committed.length, 0);
    await all;
    assert.deepEqual(committed.flat(), [1, 2, 3]);
    assert.equal(committed.length, 1);
  });

  it('gathers items that arrive during a slow commit into the next batch', async () => {
    const batches: number[][] = [];
    let release: () => void = () => {};
    const gc = new GroupCommitter<number>({
      windowMs: 0,
      maxBatch: 1000,
      commit: async (items) => {
        batches.push(items);
        if (items[0] === 0) await new Promise<void>((r) => (release = r));
      },
    });
    const first = gc.submit(0);
    await new Promise((r) => setImmediate(r));
    const rest = Array.from({ length: 50 }, (_, i) => gc.submit(i + 1));
    release();
    await Promise.all([first, ...rest]);
    assert.deepEqual(
      batches.map((b) => b.length),
      [1, 50],
    );
  });

  it('rejects every item of a failed batch and keeps serving later ones', async () => {
    let fail = true;
    const gc = new GroupCommitter<number>({
      windowMs: 1,
      maxBatch: 10,
      commit: () => {
        if (fail) throw new Error('disk full');
      },
    });
    const results = await Promise.allSettled([gc.submit(1), gc.submit(2)]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    fail = false;
    await gc.submit(3);
  });

  it('commits what is queued on close and refuses what comes after', async () => {
    const seen: number[] = [];
    const gc = new GroupCommitter<number>({
      windowMs: 50,
      maxBatch: 10,
      commit: (items) => void seen.push(...items),
    });
    const p = gc.submit(7);
    await gc.close();
    await p;
    assert.deepEqual(seen, [7]);
    await assert.rejects(gc.submit(8));
  });
});
