/**
 * Property tests of reading a backup (STYLE.md 13): whatever bytes a candidate backup holds (a
 * real backup damaged anywhere, cut short, or not a database at all), readBackup and
 * inspectBackup answer the counts or a VIGIL_ERR_REQUEST_INVALID, never another error, and
 * leave no -wal or -shm file beside it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { tempStore } from '../../test/support/temp-store.ts';
import { VigilError } from '../errors/catalogue.ts';
import { backupSqlite, inspectBackup, readBackup } from './backup.ts';

type Temp = Awaited<ReturnType<typeof tempStore>>;

function inspectOrRefusal(file: string): Record<string, number> | VigilError {
  try {
    return inspectBackup(file);
  } catch (e) {
    if (!(e instanceof VigilError)) throw e;
    assert.equal(e.code, 'VIGIL_ERR_REQUEST_INVALID');
    return e;
  }
}

function assertNothingBeside(file: string): void {
  for (const suffix of ['-wal', '-shm', '-journal']) {
    assert.ok(!existsSync(`${file}${suffix}`), `${file}${suffix} was left behind`);
  }
}

describe('reading a backup, properties', () => {
  let t: Temp;
  let good: Buffer;
  let goodCounts: Record<string, number>;
  let candidate: string;
  before(async () => {
    t = await tempStore();
    const source = t.store.sqlite;
    assert.ok(source);
    const summary = await backupSqlite(source, join(t.dir, 'good.vigil-backup'));
    good = readFileSync(summary.file);
    goodCounts = summary.counts;
    candidate = join(t.dir, 'candidate.vigil-backup');
  });
  after(() => t.cleanup());

  function place(bytes: Uint8Array): void {
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${candidate}${suffix}`, { force: true });
    writeFileSync(candidate, bytes);
  }

  it('reads the counts of an undamaged backup', () => {
    place(good);
    assert.deepEqual(inspectOrRefusal(candidate), goodCounts);
    assertNothingBeside(candidate);
  });

  it('answers counts or a VIGIL_ERR_REQUEST_INVALID for a backup damaged anywhere', () => {
    const arbDamage = fc.oneof(
      fc
        .array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 })
        .map((flips) => (bytes: Buffer) => {
          const out = Buffer.from(bytes);
          for (const [at, mask] of flips) out[at % out.length] = (out[at % out.length] ?? 0) ^ mask;
          return out;
        }),
      // Flips in the 100-byte header, where SQLite reads page size, journal mode and counters.
      fc
        .array(fc.tuple(fc.nat({ max: 99 }), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 3,
        })
        .map((flips) => (bytes: Buffer) => {
          const out = Buffer.from(bytes);
          for (const [at, mask] of flips) out[at] = (out[at] ?? 0) ^ mask;
          return out;
        }),
      fc.nat().map((cut) => (bytes: Buffer) => bytes.subarray(0, cut % bytes.length)),
    );
    fc.assert(
      fc.property(arbDamage, (damage) => {
        place(damage(good));
        const out = inspectOrRefusal(candidate);
        if (!(out instanceof VigilError))
          assert.deepEqual(Object.keys(out).sort(), Object.keys(goodCounts).sort());
        assertNothingBeside(candidate);
      }),
      { numRuns: 60 },
    );
  });

  it('answers a VIGIL_ERR_REQUEST_INVALID for bytes that are not a database', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 4096 }),
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.concat([Buffer.from('SQLite format 3\0'), b])),
        ),
        (bytes) => {
          place(bytes);
          const out = inspectOrRefusal(candidate);
          // An empty file is an empty database to SQLite: still no Vigil tables in it.
          assert.ok(out instanceof VigilError, `${bytes.length} bytes were read as a backup`);
          assertNothingBeside(candidate);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('readBackup hands check the opened backup and gives back what check returns', () => {
    place(good);
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assert.deepEqual(
          readBackup(candidate, (db) => {
            assert.equal(db.readonly, true);
            return value;
          }),
          value,
        );
        assertNothingBeside(candidate);
      }),
      { numRuns: 30 },
    );
  });
});
