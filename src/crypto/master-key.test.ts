import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { recordFsCalls } from '../../test/support/fs-calls.ts';
import { isVigilError } from '../errors/catalogue.ts';
import {
  createMasterKeyFile,
  destroyKeyFile,
  loadMasterKeyFile,
  loadMasterKeys,
  previousKeyPath,
  writeMasterKeyFile,
} from './master-key.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'vigil-mk-'));
const configError = (pattern: RegExp) => (e: unknown) =>
  isVigilError(e) && e.code === 'VIGIL_ERR_CONFIG_INVALID' && pattern.test(e.detail);

describe('master key file', () => {
  it('is created readable by its owner only and loads back', () => {
    const path = join(dir(), 'master.key');
    const created = createMasterKeyFile(path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const loaded = loadMasterKeyFile(path);
    assert.equal(loaded.id, created.id);
    assert.deepEqual(loaded.key, created.key);
    assert.equal(loaded.key.length, 32);
  });

  it('is never overwritten', () => {
    const path = join(dir(), 'master.key');
    createMasterKeyFile(path);
    assert.throws(() => createMasterKeyFile(path), configError(/already exists/));
  });

  it('is refused when others can read it, with the chmod that fixes it', () => {
    const path = join(dir(), 'master.key');
    createMasterKeyFile(path);
    chmodSync(path, 0o644);
    assert.throws(() => loadMasterKeyFile(path), configError(/chmod 600/));
  });

  it('is refused when missing or damaged, saying what to do', () => {
    const d = dir();
    assert.throws(() => loadMasterKeyFile(join(d, 'none.key')), configError(/vigil init/));
    const damaged = join(d, 'damaged.key');
    writeFileSync(damaged, JSON.stringify({ id: 'mk-1', key: 'c2hvcnQ=' }), { mode: 0o600 });
    assert.throws(() => loadMasterKeyFile(damaged), configError(/damaged/));
  });

  it('is refused when it is a named pipe, without waiting for a writer', () => {
    const fifo = join(dir(), 'master.key');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    assert.throws(() => loadMasterKeyFile(fifo), configError(/master\.key is a named pipe, not a file/));
  });

  it('is refused when larger than 4 KiB, not read whole', () => {
    const big = join(dir(), 'master.key');
    writeFileSync(big, ' '.repeat(4 * 1024 + 1), { mode: 0o600 });
    assert.throws(() => loadMasterKeyFile(big), configError(/is larger than 4 KiB/));
  });
});

describe('master key files left by an interrupted rotation', () => {
  it('destroyKeyFile leaves neither the key file nor its .shred behind', () => {
    const d = dir();
    const path = join(d, 'master.key.previous');
    createMasterKeyFile(path);
    const fs = recordFsCalls();
    try {
      destroyKeyFile(path);
    } finally {
      fs.stop();
    }
    assert.deepEqual(readdirSync(d), []);
    // Renamed before the overwrite: a crash meanwhile leaves a .shred, not a zeroed key file.
    const rename = fs.indexOf((e) => e.op === 'rename' && e.from === path && e.to === `${path}.shred`);
    const overwritten = fs.indexOf((e) => e.op === 'fsync' && e.path === `${path}.shred`);
    assert.ok(rename >= 0 && overwritten > rename, 'renamed to .shred, then overwritten');
  });

  it('a .shred left by a crash while destroying is overwritten and removed at the next load', () => {
    const d = dir();
    const path = join(d, 'master.key');
    const current = createMasterKeyFile(path);
    writeMasterKeyFile(`${previousKeyPath(path)}.shred`, createMasterKeyFile(join(d, 'other.key')));
    const keys = loadMasterKeys(path, () => assert.fail('no notice expected'));
    assert.deepEqual(
      keys.map((k) => k.id),
      [current.id],
    );
    assert.equal(existsSync(`${previousKeyPath(path)}.shred`), false);
  });

  for (const [what, content] of [
    ['empty', Buffer.alloc(0)],
    ['all zeros', Buffer.alloc(97)],
  ] as const) {
    it(`a .previous that is ${what} holds no key: it is removed, said so, and the current key loads`, () => {
      const d = dir();
      const path = join(d, 'master.key');
      const current = createMasterKeyFile(path);
      writeFileSync(previousKeyPath(path), content, { mode: 0o600 });
      const notices: string[] = [];
      const keys = loadMasterKeys(path, (n) => notices.push(n));
      assert.deepEqual(
        keys.map((k) => k.id),
        [current.id],
      );
      assert.equal(existsSync(previousKeyPath(path)), false);
      assert.equal(notices.length, 1);
      assert.match(notices[0] ?? '', new RegExp(`was ${what} .*held no key; removed it`));
    });
  }

  it('a damaged .previous that may still hold key bytes is refused, never dropped', () => {
    const d = dir();
    const path = join(d, 'master.key');
    createMasterKeyFile(path);
    writeFileSync(previousKeyPath(path), Buffer.from([0, 0, 7, 0]), { mode: 0o600 });
    assert.throws(() => loadMasterKeys(path, () => undefined), configError(/not a Vigil key file/));
    assert.equal(existsSync(previousKeyPath(path)), true);
  });
});
