import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type FsCallRecorder, recordFsCalls } from '../../test/support/fs-calls.ts';
import { isVigilError } from '../errors/catalogue.ts';
import { replaceFile, replaceFileFrom, requireFolderOf } from './replace-file.ts';

const modeOf = (file: string) => statSync(file).mode & 0o777;

/** The new content went to disk before the rename, and the rename before the call returned. */
function assertDurableRename(fs: FsCallRecorder, dir: string, file: string): void {
  const rename = fs.indexOf((e) => e.op === 'rename' && e.to === file);
  assert.ok(rename >= 0, `${file} was renamed into place`);
  const temp = (fs.events[rename] as { from: string }).from;
  const fileSynced = fs.indexOf((e) => e.op === 'fsync' && e.path === temp);
  assert.ok(fileSynced >= 0 && fileSynced < rename, 'the new content is fsynced before the rename');
  const dirSynced = fs.events.findIndex((e, i) => i > rename && e.op === 'fsync' && e.path === dir);
  assert.ok(dirSynced > rename, 'the folder is fsynced after the rename');
}

async function* pieces(...texts: string[]): AsyncIterable<string> {
  for (const text of texts) yield text;
}

describe('replaceFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-replace-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives a private key mode 0600 even over a stale 0644 temp file left by a crash', () => {
    const key = join(dir, 'device.key');
    // A crashed run of a process with this pid left its temp file, world-readable and longer.
    writeFileSync(`${key}.${process.pid}.tmp`, 'x'.repeat(4096), { mode: 0o644 });
    replaceFile(key, 'PRIVATE KEY', 0o600);
    assert.equal(readFileSync(key, 'utf8'), 'PRIVATE KEY');
    assert.equal(modeOf(key), 0o600);
    assert.deepEqual(readdirSync(dir), ['device.key']);
  });

  it('replaces an existing file, taking the stated mode rather than the old one', () => {
    const key = join(dir, 'device.key');
    writeFileSync(key, 'old key', { mode: 0o644 });
    replaceFile(key, Buffer.from('new key'), 0o600);
    assert.equal(readFileSync(key, 'utf8'), 'new key');
    assert.equal(modeOf(key), 0o600);
  });

  it('gives exactly the stated mode whatever the umask', () => {
    const umask = process.umask(0o077);
    try {
      replaceFile(join(dir, 'ca.crt'), 'CERTIFICATE', 0o644);
    } finally {
      process.umask(umask);
    }
    assert.equal(modeOf(join(dir, 'ca.crt')), 0o644);
  });

  it('fsyncs the new content before the rename and the folder after it', () => {
    const file = join(dir, 'creds.json');
    const fs = recordFsCalls();
    try {
      replaceFile(file, '{}', 0o600);
    } finally {
      fs.stop();
    }
    assertDurableRename(fs, dir, file);
  });

  it('leaves no temp file behind when the new file cannot be put in place', () => {
    // A folder under the target's name: the rename fails after the temp file was written.
    const target = join(dir, 'taken');
    mkdirSync(join(target, 'inside'), { recursive: true });
    assert.throws(
      () => replaceFile(target, 'new', 0o600),
      /cannot write .*taken: it is a folder; name a file/,
    );
    assert.deepEqual(readdirSync(dir), ['taken']);
  });

  it('names the file it was asked to write, never its temp file, when the folder is missing', () => {
    const target = join(dir, 'missing', 'crl.pem');
    assert.throws(
      () => replaceFile(target, 'new', 0o644),
      (e: unknown) =>
        isVigilError(e) &&
        e.detail ===
          `cannot write ${target}: folder ${join(dir, 'missing')} does not exist; create it first` &&
        !e.message.includes('.tmp'),
    );
  });
});

describe('requireFolderOf', () => {
  it('says a missing folder does not exist, and a file in its place is not a folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-replace-'));
    try {
      writeFileSync(join(dir, 'file'), '');
      requireFolderOf(join(dir, 'out.pem'));
      assert.throws(
        () => requireFolderOf(join(dir, 'none', 'out.pem')),
        (e: unknown) => isVigilError(e) && /^folder .*none does not exist; create it first$/.test(e.detail),
      );
      assert.throws(
        () => requireFolderOf(join(dir, 'file', 'out.pem')),
        (e: unknown) => isVigilError(e) && /file is not a folder; choose another path$/.test(e.detail),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('replaceFileFrom', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-replace-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the pieces in order, with the stated mode, over a stale temp file', async () => {
    const out = join(dir, 'bundle.json');
    writeFileSync(`${out}.partial`, 'stale', { mode: 0o644 });
    await replaceFileFrom(out, pieces('{"a":', '1', '}'), 0o600, { temp: `${out}.partial` });
    assert.equal(readFileSync(out, 'utf8'), '{"a":1}');
    assert.equal(modeOf(out), 0o600);
    assert.ok(!existsSync(`${out}.partial`));
  });

  it('fsyncs the new content before the rename and the folder after it', async () => {
    const out = join(dir, 'bundle.json');
    const fs = recordFsCalls();
    try {
      await replaceFileFrom(out, pieces('{', '}'), 0o600);
    } finally {
      fs.stop();
    }
    assertDurableRename(fs, dir, out);
  });

  it('keeps the old file and removes the temp file when the pieces fail midway', async () => {
    const out = join(dir, 'bundle.json');
    writeFileSync(out, 'old bundle', { mode: 0o600 });
    async function* failing(): AsyncIterable<string> {
      yield '{"resourceType":';
      throw new Error('store went away');
    }
    await assert.rejects(replaceFileFrom(out, failing(), 0o600), /store went away/);
    assert.equal(readFileSync(out, 'utf8'), 'old bundle');
    assert.deepEqual(readdirSync(dir), ['bundle.json']);
  });

  it('names the file it was asked to write, never its .partial, when the folder is missing', async () => {
    const out = join(dir, 'missing', 'x.json');
    await assert.rejects(
      replaceFileFrom(out, pieces('{}'), 0o600, { temp: `${out}.partial` }),
      (e: unknown) =>
        isVigilError(e) &&
        e.detail === `cannot write ${out}: folder ${join(dir, 'missing')} does not exist; create it first`,
    );
  });
});
