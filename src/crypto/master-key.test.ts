import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isVigilError } from '../errors/catalogue.ts';
import { createMasterKeyFile, loadMasterKeyFile } from './master-key.ts';

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
