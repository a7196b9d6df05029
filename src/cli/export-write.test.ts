import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { recordFsCalls } from '../../test/support/fs-calls.ts';
import { writeBundle } from './export-actions.ts';

async function* bundle(...pieces: string[]): AsyncIterable<string> {
  for (const piece of pieces) yield piece;
}

describe('patient export to a file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-export-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('fsyncs the Bundle before renaming it into place, and the folder after', async () => {
    const out = join(dir, 'p.json');
    const fs = recordFsCalls();
    try {
      await writeBundle(bundle('{"resourceType":"Bundle"', '}'), out);
    } finally {
      fs.stop();
    }
    assert.equal(readFileSync(out, 'utf8'), '{"resourceType":"Bundle"}');
    const rename = fs.indexOf((e) => e.op === 'rename' && e.to === out);
    assert.ok(rename >= 0, 'the Bundle was renamed into place');
    const fileSynced = fs.indexOf((e) => e.op === 'fsync' && e.path === `${out}.partial`);
    assert.ok(fileSynced >= 0 && fileSynced < rename, 'the Bundle is fsynced before the rename');
    const dirSynced = fs.events.findIndex((e, i) => i > rename && e.op === 'fsync' && e.path === dir);
    assert.ok(dirSynced > rename, 'the folder is fsynced after the rename');
  });

  it('is 0600 over a stale partial file, and leaves none when the export fails', async () => {
    const out = join(dir, 'p.json');
    writeFileSync(`${out}.partial`, 'stale', { mode: 0o644 });
    await writeBundle(bundle('{}'), out);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    async function* failing(): AsyncIterable<string> {
      yield '{';
      throw new Error('store went away');
    }
    await assert.rejects(writeBundle(failing(), out), /store went away/);
    assert.equal(readFileSync(out, 'utf8'), '{}');
    assert.deepEqual(readdirSync(dir), ['p.json']);
  });
});
