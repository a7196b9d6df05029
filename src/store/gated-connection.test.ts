import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore, type Store } from './database.ts';

/** The gate's cells: [0] the lock, [1] WANTED (what makes the writer thread stand aside). */
const cells = (store: Store) => new Int32Array(store.writeGate?.shared ?? new SharedArrayBuffer(8));
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('event-loop connection and the write gate', () => {
  let dir: string;
  let store: Store;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-gated-'));
    store = await openStore({ dataDir: dir });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Takes the gate as the writer thread does (it is free here, so this does not block). */
  const holdGate = () => {
    assert.ok(store.writeGate?.acquireBlocking(0), 'the gate should be free');
    return () => store.writeGate?.release();
  };

  it('reads while the writer thread holds the gate, without asking it to stand aside', async () => {
    const release = holdGate();
    let rows: unknown[] | undefined;
    const read = store.db
      .selectFrom('devices')
      .select('id')
      .execute()
      .then((r) => {
        rows = r;
      });
    try {
      await turns(5);
      assert.deepEqual(rows, [], 'the read should not wait for the gate');
      assert.equal(cells(store)[1], 0, 'a read must not raise WANTED');
    } finally {
      release();
      await read;
    }
  });

  it('waits for the gate to write a single statement, and lets go after it', async () => {
    const release = holdGate();
    let done = false;
    const write = store.db
      .deleteFrom('devices')
      .where('id', '=', 'no-such-device')
      .execute()
      .then(() => {
        done = true;
      });
    await turns(5);
    assert.equal(done, false, 'the write ran while another thread held the gate');
    assert.equal(cells(store)[1], 1, 'the waiting write should raise WANTED');
    release();
    await write;
    assert.equal(cells(store)[0], 0, 'the gate should be free after the write');
  });

  it('holds the gate for a whole transaction, committed or rolled back', async () => {
    let inside = -1;
    await store.db.transaction().execute(async (trx) => {
      await trx.selectFrom('devices').select('id').execute();
      inside = cells(store)[0] ?? -1;
    });
    assert.equal(inside, 1, 'a transaction runs holding the gate, reads included');
    assert.equal(cells(store)[0], 0);
    await assert.rejects(
      store.db.transaction().execute(async () => {
        throw new Error('abandon');
      }),
      /abandon/,
    );
    assert.equal(cells(store)[0], 0, 'a rolled-back transaction must let go of the gate');
  });
});
