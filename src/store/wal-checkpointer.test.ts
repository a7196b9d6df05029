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

  it('restarts the WAL once it passes its cap, also while writes never stop', async () => {
    const { store, cleanup } = await tempStore();
    try {
      const db = store.sqlite;
      assert.ok(db);
      // PASSIVE alone never catches up here: a commit lands during every pass, so SQLite cannot
      // reuse the WAL from its start and, uncapped, it grew to 126 MB in this loop.
      const checkpointer = startWalCheckpointer(db, { everyMs: 20, restartBytes: 4 * 1024 * 1024 });
      db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)');
      const upsert = db.prepare('INSERT OR REPLACE INTO t VALUES (?, ?)');
      const payload = Buffer.alloc(4000, 7);
      let largest = 0;
      for (let commit = 0; commit < 1500; commit++) {
        db.transaction(() => {
          for (let i = 0; i < 20; i++) upsert.run((commit * 20 + i) % 2000, payload);
        })();
        largest = Math.max(largest, walSize(db.name));
        await new Promise((r) => setTimeout(r, 1));
      }
      await checkpointer.stop();
      assert.ok(largest < 32 * 1024 * 1024, `the WAL reached ${largest} bytes`);
      assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 2000);
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
