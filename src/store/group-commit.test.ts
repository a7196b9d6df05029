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

describe('group commit with batches handed over early', () => {
  it('hands the next batch over while the previous one is still committing', async () => {
    const handed: number[][] = [];
    const releases: Array<() => void> = [];
    const gc = new GroupCommitter<number>({
      windowMs: 0,
      maxBatch: 100,
      maxInFlight: 4,
      commit: async (items) => {
        handed.push(items);
        await new Promise<void>((r) => releases.push(r));
      },
    });
    const first = gc.submit(1);
    await new Promise((r) => setImmediate(r));
    const second = [gc.submit(2), gc.submit(3)];
    await new Promise((r) => setImmediate(r));
    // Both batches are with the committer although the first has not committed yet.
    assert.deepEqual(handed, [[1], [2, 3]]);
    let secondSettled = false;
    void Promise.all(second).then(() => (secondSettled = true));
    releases[1]?.();
    await Promise.all(second);
    assert.equal(secondSettled, true);
    releases[0]?.();
    await first;
  });

  it('never has more than maxInFlight batches out, and commits the rest on close', async () => {
    let out = 0;
    let most = 0;
    const seen: number[] = [];
    const gc = new GroupCommitter<number>({
      windowMs: 0,
      maxBatch: 2,
      maxInFlight: 2,
      commit: async (items) => {
        out += 1;
        most = Math.max(most, out);
        await new Promise((r) => setTimeout(r, 2));
        seen.push(...items);
        out -= 1;
      },
    });
    const all = Array.from({ length: 11 }, (_, i) => gc.submit(i));
    await gc.close();
    await Promise.all(all);
    assert.equal(most, 2);
    assert.deepEqual(
      seen.sort((a, b) => a - b),
      Array.from({ length: 11 }, (_, i) => i),
    );
  });

  it('a failed batch rejects only its own items', async () => {
    const gc = new GroupCommitter<number>({
      windowMs: 0,
      maxBatch: 1,
      maxInFlight: 3,
      commit: async ([n]) => {
        if (n === 2) throw new Error('disk full');
      },
    });
    const results = await Promise.allSettled([1, 2, 3].map((n) => gc.submit(n)));
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
  });
});
