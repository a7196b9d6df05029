import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { recordFsCalls } from '../../test/support/fs-calls.ts';
import { tempStore } from '../../test/support/temp-store.ts';
import { backupSqlite, inspectBackup, installBackup } from './backup.ts';

type Temp = Awaited<ReturnType<typeof tempStore>>;

/** Pads the database to about `mib` MiB so a copy in small steps would take many of them. */
function fill(t: Temp, mib: number): void {
  const db = t.store.sqlite;
  assert.ok(db);
  db.exec('CREATE TABLE filler (id INTEGER PRIMARY KEY, b BLOB)');
  const insert = db.prepare('INSERT INTO filler (b) VALUES (randomblob(4000))');
  db.transaction(() => {
    for (let i = 0; i < mib * 256; i++) insert.run();
  })();
}

/** Another connection committing a small row every `everyMs`, as a serving Vigil does. */
function committer(file: string, everyMs: number): Worker {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  return new Worker(
    `const { workerData } = require('node:worker_threads');
const db = new (require(workerData.driver))(workerData.file);
db.pragma('busy_timeout = 5000');
const tick = db.prepare("INSERT OR REPLACE INTO settings (key, value) VALUES ('tick', ?)");
let n = 0;
setInterval(() => {
  tick.run(String(n++));
  if (n === 1) require('node:worker_threads').parentPort.postMessage('committing');
}, workerData.everyMs);`,
    { eval: true, workerData: { driver, file, everyMs } },
  );
}

describe('SQLite backup', () => {
  let t: Temp;
  beforeEach(async () => {
    t = await tempStore();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('finishes while another connection keeps committing', async () => {
    fill(t, 40);
    const db = t.store.sqlite;
    assert.ok(db);
    const writer = committer(db.name, 5);
    try {
      await new Promise((r) => writer.once('message', r));
      const out = join(t.dir, 'live.backup');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timed out'>((r) => {
        timer = setTimeout(() => r('timed out'), 15_000);
      });
      const result = await Promise.race([backupSqlite(db, out).then(() => 'done' as const), timedOut]);
      clearTimeout(timer);
      assert.equal(result, 'done');
      assert.equal(inspectBackup(out).patients, 0);
    } finally {
      await writer.terminate();
    }
  });

  it('reports the start and the end of the copy, in pages', async () => {
    fill(t, 1);
    assert.ok(t.store.sqlite);
    const heard: Array<[number, number]> = [];
    await backupSqlite(t.store.sqlite, join(t.dir, 'b.backup'), {
      onProgress: (done, total) => heard.push([done, total]),
    });
    const total = t.store.sqlite.pragma('page_count', { simple: true }) as number;
    assert.deepEqual(heard, [
      [0, total],
      [total, total],
    ]);
  });

  it('keeps the copy owner-only while it is being written', async () => {
    fill(t, 2);
    assert.ok(t.store.sqlite);
    const umask = process.umask(0o022);
    const modes: string[] = [];
    try {
      await backupSqlite(t.store.sqlite, join(t.dir, 'nightly.backup'), {
        onProgress: () => {
          for (const name of readdirSync(t.dir).filter((n) => n.includes('.partial-')))
            modes.push((statSync(join(t.dir, name)).mode & 0o777).toString(8));
        },
      });
    } finally {
      process.umask(umask);
    }
    assert.ok(modes.length > 0, 'the partial file was seen');
    assert.deepEqual([...new Set(modes)], ['600']);
  });

  it('hashes the backup as a stream, so a backup over 2 GiB gets its checksum too', async () => {
    fill(t, 1);
    assert.ok(t.store.sqlite);
    const out = join(t.dir, 'big.backup');
    // What readFileSync does with a file over 2 GiB, without writing 2 GiB in a test.
    const fs = recordFsCalls({
      onReadFile: (path) => {
        if (path.startsWith(out)) {
          throw Object.assign(new RangeError(`File size of ${path} is greater than 2 GiB`), {
            code: 'ERR_FS_FILE_TOO_LARGE',
          });
        }
      },
    });
    let summary: Awaited<ReturnType<typeof backupSqlite>>;
    try {
      summary = await backupSqlite(t.store.sqlite, out);
    } finally {
      fs.stop();
    }
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(out)) hash.update(chunk as Buffer);
    assert.equal(summary.sha256, hash.digest('hex'));
    assert.equal(summary.bytes, statSync(out).size);
  });

  it('makes the backup durable: the copy is fsynced before the rename, the folder after it', async () => {
    fill(t, 1);
    assert.ok(t.store.sqlite);
    const out = join(t.dir, 'durable.backup');
    const fs = recordFsCalls();
    try {
      await backupSqlite(t.store.sqlite, out);
    } finally {
      fs.stop();
    }
    const rename = fs.indexOf((e) => e.op === 'rename' && e.to === out);
    assert.ok(rename >= 0, 'the copy was renamed into place');
    const from = (fs.events[rename] as { from: string }).from;
    const fileSynced = fs.indexOf((e) => e.op === 'fsync' && e.path === from);
    assert.ok(fileSynced >= 0 && fileSynced < rename, 'the copy is fsynced before the rename');
    const dirSynced = fs.events.findIndex(
      (e, i) => i > rename && e.op === 'fsync' && e.path === dirname(out),
    );
    assert.ok(dirSynced > rename, 'the folder is fsynced after the rename');
  });

  it('writes one self-contained file: no -wal or -shm beside it, after the copy or a check of it', async () => {
    fill(t, 1);
    assert.ok(t.store.sqlite);
    const out = join(t.dir, 'alone.backup');
    await backupSqlite(t.store.sqlite, out);
    inspectBackup(out);
    assert.deepEqual(
      readdirSync(t.dir).filter((n) => n.includes('.backup')),
      ['alone.backup'],
    );
    const copy = new BetterSqlite3(out, { readonly: true });
    try {
      assert.equal(copy.pragma('journal_mode', { simple: true }), 'delete');
    } finally {
      copy.close();
    }
  });

  it('leaves no -wal or -shm beside a WAL-mode backup made by an earlier version when checking it', async () => {
    fill(t, 1);
    assert.ok(t.store.sqlite);
    const old = join(t.dir, 'old.backup');
    await backupSqlite(t.store.sqlite, old);
    const asBefore = new BetterSqlite3(old);
    asBefore.pragma('journal_mode = WAL');
    asBefore.close();
    assert.deepEqual(
      readdirSync(t.dir).filter((n) => n.startsWith('old.backup')),
      ['old.backup'],
    );
    assert.equal(inspectBackup(old).patients, 0);
    assert.deepEqual(
      readdirSync(t.dir).filter((n) => n.startsWith('old.backup')),
      ['old.backup'],
    );
  });

  it('restores as owner-only and durably, over a stale 0644 temp file left by a crash', async () => {
    fill(t, 1);
    assert.ok(t.store.sqlite);
    const backup = join(t.dir, 'b.backup');
    await backupSqlite(t.store.sqlite, backup);
    const dbPath = join(t.dir, 'restored.db');
    writeFileSync(`${dbPath}.restore-${process.pid}`, 'left by a crash', { mode: 0o644 });
    const fs = recordFsCalls();
    try {
      installBackup(backup, dbPath);
    } finally {
      fs.stop();
    }
    assert.equal(statSync(dbPath).mode & 0o777, 0o600);
    assert.ok(readFileSync(dbPath).equals(readFileSync(backup)));
    assert.ok(!readdirSync(t.dir).some((n) => n.includes('.restore-')));
    const rename = fs.indexOf((e) => e.op === 'rename' && e.to === dbPath);
    const from = (fs.events[rename] as { from: string }).from;
    const fileSynced = fs.indexOf((e) => e.op === 'fsync' && e.path === from);
    assert.ok(fileSynced >= 0 && fileSynced < rename, 'the copy is fsynced before the rename');
    assert.ok(fs.events.findIndex((e, i) => i > rename && e.op === 'fsync' && e.path === t.dir) > rename);
  });
});
