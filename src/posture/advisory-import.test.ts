import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from '../../test/support/backends.ts';
import { isVigilError } from '../errors/catalogue.ts';
import { advisoryFiles, importAdvisoryPaths, MAX_ADVISORY_FILE_BYTES } from './advisory-import.ts';
import { PostureStore } from './posture.store.ts';

const OSV = readFileSync(
  join(import.meta.dirname, 'fixtures', 'advisories', 'osv', 'DLA-3103-1.json'),
  'utf8',
);

describe('advisory files under a folder', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-adv-walk-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('skips and counts links and special files instead of following or reading them', () => {
    const feed = join(dir, 'feed');
    mkdirSync(join(feed, 'sub'), { recursive: true });
    writeFileSync(join(feed, 'sub', 'a.json'), OSV);
    symlinkSync(join(feed, 'loop'), join(feed, 'loop'));
    symlinkSync(join(dir, 'gone.json'), join(feed, 'dangling.json'));
    symlinkSync(feed, join(feed, 'sub', 'up'));
    execFileSync('mkfifo', [join(feed, 'pipe.json')]);
    assert.deepEqual(advisoryFiles([feed]), { files: [join(feed, 'sub', 'a.json')], skippedEntries: 4 });
  });

  it('refuses a path named directly that is neither a file nor a folder, or missing', () => {
    const refusal = (path: string) => {
      try {
        advisoryFiles([path]);
      } catch (e) {
        assert.ok(isVigilError(e), String(e));
        return e.detail;
      }
      assert.fail('accepted');
    };
    assert.match(refusal('/dev/zero'), /^\/dev\/zero is neither a file nor a folder/);
    assert.match(refusal(join(dir, 'none')), /none does not exist; check the path$/);
  });
});

describe('advisory import of a file over the limit', () => {
  it('refuses it without reading it, imports the others and reports it', async () => {
    const { store, cleanup } = await BACKENDS[0]!.open();
    const dir = mkdtempSync(join(tmpdir(), 'vigil-adv-big-'));
    try {
      // Sparse: the size is over the limit, the disk holds nothing.
      writeFileSync(join(dir, 'a-huge.json'), '');
      truncateSync(join(dir, 'a-huge.json'), MAX_ADVISORY_FILE_BYTES + 1);
      writeFileSync(join(dir, 'b-good.json'), OSV);
      const r = await importAdvisoryPaths(new PostureStore(store.db, store.sqlite), [dir]);
      assert.equal(r.errors.length, 1);
      assert.match(
        r.errors[0] as string,
        /^advisory file .*a-huge\.json is larger than 256 MiB \(the advisory file limit\); split the feed into smaller files$/,
      );
      assert.equal(r.advisories.inserted, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await cleanup();
    }
  });
});
