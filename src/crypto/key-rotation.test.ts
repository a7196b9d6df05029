import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { recordFsCalls } from '../../test/support/fs-calls.ts';
import { openStore } from '../store/database.ts';
import { KeyRing } from './key-ring.ts';
import { MasterKeyWatcher, retireUnusedMasterKeys, rewrapAll, rotateMasterKey } from './key-rotation.ts';
import {
  createMasterKeyFile,
  loadMasterKeyFile,
  newMasterKey,
  nextKeyPath,
  previousKeyPath,
  replaceMasterKeyFile,
  writeMasterKeyFile,
} from './master-key.ts';

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-rotate-'));
  const file = join(dir, 'master.key');
  const master = createMasterKeyFile(file);
  const store = await openStore({ dataDir: dir });
  const ring = new KeyRing(store.db, master);
  const before = new Map<string, Buffer>();
  for (let i = 0; i < 25; i++) before.set(`p${i}`, await ring.dataKey('patient', `p${i}`));
  await ring.putSecret('ca.key', Buffer.from('the CA private key'));
  return {
    dir,
    file,
    master,
    store,
    before,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function assertAllOpenWith(t: Awaited<ReturnType<typeof setup>>, file: string) {
  const fresh = new KeyRing(t.store.db, loadMasterKeyFile(file));
  for (const [owner, key] of t.before) assert.deepEqual(await fresh.dataKey('patient', owner), key);
  assert.equal((await fresh.getSecret('ca.key')).toString(), 'the CA private key');
}

describe('master key rotation', () => {
  it('re-wraps every data key and secret, keeps their values, and destroys the old key file', async () => {
    const t = await setup();
    try {
      const r = await rotateMasterKey({ db: t.store.db, masterKeyFile: t.file });
      assert.equal(r.finished, true);
      assert.equal(r.dataKeys, 25);
      assert.equal(r.secrets, 1);
      assert.deepEqual(r.underNewKey, { dataKeys: 25, secrets: 1 });
      assert.deepEqual(r.underOldKey, { dataKeys: 0, secrets: 0 });
      assert.notEqual(r.newKeyId, t.master.id);
      assert.equal(loadMasterKeyFile(t.file).id, r.newKeyId);
      assert.equal(existsSync(previousKeyPath(t.file)), false);
      await assertAllOpenWith(t, t.file);
      // The old key alone no longer opens anything.
      const old = new KeyRing(t.store.db, t.master);
      await assert.rejects(old.dataKey('patient', 'p3'), /not loaded/);
    } finally {
      await t.cleanup();
    }
  });

  it('starts afresh over a zeroed .previous left by a crash, and writes the new .previous through a rename', async () => {
    const t = await setup();
    try {
      writeFileSync(previousKeyPath(t.file), Buffer.alloc(90), { mode: 0o600 });
      const fs = recordFsCalls();
      let r: Awaited<ReturnType<typeof rotateMasterKey>>;
      try {
        r = await rotateMasterKey({ db: t.store.db, masterKeyFile: t.file, serverWaitMs: 0 });
      } finally {
        fs.stop();
      }
      assert.equal(r.resumed, false);
      assert.equal(r.finished, true);
      assert.equal(r.oldKeyId, t.master.id);
      assert.equal(r.notices.length, 1);
      assert.ok(
        fs.indexOf((e) => e.op === 'rename' && e.to === previousKeyPath(t.file)) >= 0,
        'the old key reaches .previous by a rename, never as a file being written',
      );
      await assertAllOpenWith(t, t.file);
    } finally {
      await t.cleanup();
    }
  });

  it('resumes a rotation that was cut off after the key switch', async () => {
    const t = await setup();
    try {
      writeMasterKeyFile(previousKeyPath(t.file), t.master);
      const next = newMasterKey();
      replaceMasterKeyFile(t.file, next);
      const r = await rotateMasterKey({ db: t.store.db, masterKeyFile: t.file });
      assert.equal(r.resumed, true);
      assert.equal(r.newKeyId, next.id);
      assert.equal(r.finished, true);
      await assertAllOpenWith(t, t.file);
    } finally {
      await t.cleanup();
    }
  });

  it('resumes a rotation cut off before the new key was in place with a new key, not the old one', async () => {
    const t = await setup();
    try {
      // Killed after setting the old key aside and writing the new one beside the current file.
      writeMasterKeyFile(previousKeyPath(t.file), t.master);
      writeMasterKeyFile(nextKeyPath(t.file), newMasterKey());
      const r = await rotateMasterKey({ db: t.store.db, masterKeyFile: t.file, serverWaitMs: 0 });
      assert.equal(r.resumed, true);
      assert.equal(r.finished, true);
      assert.notEqual(r.newKeyId, t.master.id);
      assert.equal(loadMasterKeyFile(t.file).id, r.newKeyId);
      assert.equal(existsSync(previousKeyPath(t.file)), false);
      assert.equal(existsSync(nextKeyPath(t.file)), false, 'the unused new key file is gone');
      assert.equal(r.dataKeys, 25);
      await assertAllOpenWith(t, t.file);
    } finally {
      await t.cleanup();
    }
  });

  it('a server watching the key file switches, re-wraps what it wrapped meanwhile, and lets the rotation finish', async () => {
    const t = await setup();
    try {
      const serverRing = new KeyRing(t.store.db, t.master);
      const watcher = new MasterKeyWatcher(t.store.db, serverRing, t.file);
      await watcher.start();
      const rotation = rotateMasterKey({ db: t.store.db, masterKeyFile: t.file, serverWaitMs: 10_000 });
      // The server keeps creating keys with whatever it believes is current, and polls.
      let n = 0;
      const serverLoop = (async () => {
        for (; n < 40; n++) {
          const key = await serverRing.dataKey('patient', `new-${n}`);
          t.before.set(`new-${n}`, key);
          await watcher.check();
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      const [r] = await Promise.all([rotation, serverLoop]);
      await watcher.check();
      assert.equal(r.finished, true, JSON.stringify(r));
      assert.equal(serverRing.masterKeyId, r.newKeyId);
      // Whoever re-wrapped or created them, everything the server had made by then is counted.
      assert.equal(r.underNewKey.secrets, 1);
      assert.ok(r.underNewKey.dataKeys >= 25, JSON.stringify(r));
      await assertAllOpenWith(t, t.file);
      await watcher.stop();
    } finally {
      await t.cleanup();
    }
  });

  it('wipes a retired master key from the ring once no row is wrapped by it, not before', async () => {
    const t = await setup();
    try {
      const ring = new KeyRing(t.store.db, t.master);
      const next = newMasterKey();
      ring.switchMasterKeys(next, [t.master]);
      assert.deepEqual(await retireUnusedMasterKeys(t.store.db, ring), [], 'rows still need the old key');
      assert.ok(t.master.key.some((b) => b !== 0));
      await rewrapAll(t.store.db, ring);
      assert.deepEqual(await retireUnusedMasterKeys(t.store.db, ring), [t.master.id]);
      assert.ok(
        t.master.key.every((b) => b === 0),
        'the retired key is zeroed',
      );
      assert.equal(ring.holdsRetiredMasterKeys, false);
      for (const [patient, key] of t.before) assert.deepEqual(await ring.dataKey('patient', patient), key);
    } finally {
      await t.cleanup();
    }
  });

  it('leaves the old key in place when a server announced itself but never switched', async () => {
    const t = await setup();
    try {
      const watcher = new MasterKeyWatcher(t.store.db, new KeyRing(t.store.db, t.master), t.file);
      await watcher.start(); // and then never checks again: a hung server
      const r = await rotateMasterKey({ db: t.store.db, masterKeyFile: t.file, serverWaitMs: 300 });
      assert.equal(r.finished, false);
      assert.equal(existsSync(previousKeyPath(t.file)), true);
      assert.deepEqual(r.underOldKey, { dataKeys: 0, secrets: 0 });
      await watcher.stop();
      const again = await rotateMasterKey({ db: t.store.db, masterKeyFile: t.file, serverWaitMs: 300 });
      assert.equal(again.resumed, true);
      assert.equal(again.finished, true);
      await assertAllOpenWith(t, t.file);
    } finally {
      await t.cleanup();
    }
  });
});
