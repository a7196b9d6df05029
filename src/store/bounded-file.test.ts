import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../errors/catalogue.ts';
import { readBoundedFile } from './bounded-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-bounded-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isVigilError(e), `expected a VigilError, got ${String(e)}`);
    return e.detail;
  }
  assert.fail('expected a refusal');
}

describe('readBoundedFile', () => {
  it('reads a file of exactly the limit, and refuses one byte more (property)', () => {
    const file = join(dir, 'sized');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: -3, max: 3 }), (limit, delta) => {
        const size = Math.max(0, limit + delta);
        const content = Buffer.alloc(size, 0x61);
        writeFileSync(file, content);
        if (size <= limit) {
          assert.deepEqual(readBoundedFile(file, limit, 'test file'), content);
        } else {
          const detail = refusal(() => readBoundedFile(file, limit, 'test file'));
          assert.match(detail, /^test file .* is larger than /);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('refuses /dev/zero at once instead of reading it for ever', () => {
    const detail = refusal(() => readBoundedFile('/dev/zero', 1024, 'config file'));
    assert.equal(detail, 'config file /dev/zero is a device, not a file; give the path of a regular file');
  });

  it('refuses a named pipe with no writer without waiting for one', () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    assert.match(
      refusal(() => readBoundedFile(fifo, 1024, 'config file')),
      /is a named pipe, not a file/,
    );
  });

  it('refuses a folder, a missing file and a symlink loop, naming the file and what to do', () => {
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    assert.match(
      refusal(() => readBoundedFile(sub, 10, 'key file')),
      /^key file .*sub is a folder, not a file/,
    );
    assert.match(
      refusal(() => readBoundedFile(join(dir, 'none'), 10, 'key file')),
      /does not exist; check the path$/,
    );
    const loop = join(dir, 'loop');
    symlinkSync(loop, loop);
    assert.match(
      refusal(() => readBoundedFile(loop, 10, 'key file')),
      /is a loop of symbolic links/,
    );
  });

  it('follows a symlink to a regular file', () => {
    writeFileSync(join(dir, 'target'), 'hello');
    symlinkSync(join(dir, 'target'), join(dir, 'link'));
    assert.equal(readBoundedFile(join(dir, 'link'), 5, 'file').toString(), 'hello');
  });

  it('says the limit and what to do when a file is too large', () => {
    writeFileSync(join(dir, 'big'), Buffer.alloc(2 * 1024 * 1024));
    const detail = refusal(() =>
      readBoundedFile(join(dir, 'big'), 1024 * 1024, 'SBOM', { whenTooLarge: 'split it' }),
    );
    assert.match(detail, /SBOM .*big is larger than 1 MiB \(the SBOM limit\); split it$/);
  });

  it('uses the code it is given', () => {
    try {
      readBoundedFile('/dev/zero', 1, 'config file', { code: 'VIGIL_ERR_CONFIG_INVALID' });
      assert.fail('expected a refusal');
    } catch (e) {
      assert.ok(isVigilError(e));
      assert.equal(e.code, 'VIGIL_ERR_CONFIG_INVALID');
    }
  });
});
