import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { recordFsCalls } from '../../test/support/fs-calls.ts';
import { createMasterKeyFile, loadMasterKeyFile, newMasterKey, replaceMasterKeyFile } from './master-key.ts';

/**
 * Losing the master key loses every record it wraps, so its file must be on disk, under its
 * name, before anything is sealed under it: content fsynced, then the folder holding the name.
 */
describe('master key file durability', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-master-key-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('fsyncs a new key file and then its folder, as vigil init writes it', () => {
    const file = join(dir, 'master.key');
    const fs = recordFsCalls();
    try {
      createMasterKeyFile(file);
    } finally {
      fs.stop();
    }
    const fileSynced = fs.indexOf((e) => e.op === 'fsync' && e.path === file);
    assert.ok(fileSynced >= 0, 'the key is fsynced');
    const dirSynced = fs.events.findIndex((e, i) => i > fileSynced && e.op === 'fsync' && e.path === dir);
    assert.ok(dirSynced > fileSynced, 'the folder is fsynced after the key file was made');
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it('fsyncs the new key before renaming it over the current one, and the folder after', () => {
    const file = join(dir, 'master.key');
    createMasterKeyFile(file);
    const next = newMasterKey();
    const fs = recordFsCalls();
    try {
      replaceMasterKeyFile(file, next);
    } finally {
      fs.stop();
    }
    const rename = fs.indexOf((e) => e.op === 'rename' && e.to === file);
    assert.ok(rename >= 0, 'the new key was renamed into place');
    const from = (fs.events[rename] as { from: string }).from;
    const fileSynced = fs.indexOf((e) => e.op === 'fsync' && e.path === from);
    assert.ok(fileSynced >= 0 && fileSynced < rename, 'the new key is fsynced before the rename');
    const dirSynced = fs.events.findIndex((e, i) => i > rename && e.op === 'fsync' && e.path === dir);
    assert.ok(dirSynced > rename, 'the folder is fsynced after the rename');
    assert.equal(loadMasterKeyFile(file).id, next.id);
  });
});
