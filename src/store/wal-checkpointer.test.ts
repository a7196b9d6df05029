import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { describe, it } from 'node:test';
import { tempStore } from '../../test/support/temp-store.ts';
import { startWalCheckpointer } from './wal-checkpointer.ts';

const walSize = (file: string) => statSync(`${file}-wal`).size;

describe('WAL checkpointer', () => {
  it('keeps the WAL from growing while the main connection no longer checkpoints by itself', async () => {
    const { store, cleanup } = await tempStore();
    try {
      const db = store.sqlite;
      assert.ok(db);
      const checkpointer = startWalCheckpointer(db, { everyMs: 20 });
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0);
      db.exec('CREATE TABLE t (v BLOB)');
      const insert = db.prepare('INSERT INTO t VALUES (?)');
      const payload = Buffer.alloc(4096, 7);
      // Write about 40 MB in small transactions, pausing so the worker gets turns.
      for (let round = 0; round < 40; round++) {
        db.transaction(() => {
          for (let i = 0; i < 250; i++) insert.run(payload);
        })();
        await new Promise((r) => setTimeout(r, 30));
      }
      await checkpointer.stop();
      // The WAL is reused from its start after a full checkpoint, so it stays far below 40 MB.
      assert.ok(walSize(db.name) < 20 * 1024 * 1024, `wal is ${walSize(db.name)} bytes`);
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000);
      assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 10_000);
    } finally {
      await cleanup();
    }
  });

  it('stops cleanly twice', async () => {
    const { store, cleanup } = await tempStore();
    try {
      assert.ok(store.sqlite);
      const checkpointer = startWalCheckpointer(store.sqlite);
      await checkpointer.stop();
      await checkpointer.stop();
    } finally {
      await cleanup();
    }
  });
});
