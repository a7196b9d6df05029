/** `vigil backup` and `vigil restore` as an operator runs them, on real data dirs. */
import assert from 'node:assert/strict';
import {
  copyFileSync,
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
import { after, before, describe, it } from 'node:test';
import { openStore } from '../src/store/database.ts';
import { type CliRun, runVigil } from './support/cli-process.ts';

type Run = CliRun;

const vigil = (args: string[], env: Record<string, string> = {}) => runVigil(args, { env });

function oneLineError(r: Run, mentions: RegExp): void {
  assert.notEqual(r.code, 0, r.stdout);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, mentions);
}

describe('vigil backup / restore', () => {
  let root: string;
  let source: string;
  let backup: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'vigil-backup-'));
    source = join(root, 'source');
    backup = join(root, 'vigil.backup');
    assert.equal((await vigil(['init', '--data-dir', source])).code, 0);
    const p = await vigil(['patient', 'add', '--data-dir', source, '--id', 'p-bk', '--name', 'Grace H']);
    assert.equal(p.code, 0, p.stderr);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('writes a backup without the master key and restores it into a new data dir with that key', async () => {
    const b = await vigil(['backup', '--data-dir', source, '--out', backup, '--json']);
    assert.equal(b.code, 0, b.stderr);
    const summary = JSON.parse(b.stdout) as { bytes: number; sha256: string; counts: Record<string, number> };
    assert.equal(summary.counts.patients, 1);
    assert.match(summary.sha256, /^[0-9a-f]{64}$/);

    const again = await vigil(['backup', '--data-dir', source, '--out', backup]);
    oneLineError(again, /exists; choose another --out or pass --force/);

    const target = join(root, 'target');
    mkdirSync(target);
    const keyCopy = join(root, 'kept-apart.key');
    copyFileSync(join(source, 'master.key'), keyCopy);
    const r = await vigil(['restore', backup, '--data-dir', target, '--json'], {
      VIGIL_MASTER_KEY_FILE: keyCopy,
    });
    assert.equal(r.code, 0, r.stderr);
    const restored = JSON.parse(r.stdout) as { counts: Record<string, number>; auditIntact: boolean };
    assert.equal(restored.counts.patients, 1);
    assert.equal(restored.auditIntact, true);

    const verify = await vigil(['audit', 'verify', '--data-dir', target, '--json'], {
      VIGIL_MASTER_KEY_FILE: keyCopy,
    });
    assert.equal(verify.code, 0, verify.stderr);
    const v = JSON.parse(verify.stdout) as { entries: number; intact: boolean };
    assert.equal(v.intact, true);
    // Every entry of the snapshot, then system.restore.
    assert.equal(v.entries, (summary.counts.audit_log ?? 0) + 1);

    const over = await vigil(['restore', backup, '--data-dir', target], { VIGIL_MASTER_KEY_FILE: keyCopy });
    oneLineError(over, /already has a database; stop the server and pass --force/);
  });

  it('restores into a data dir that does not exist yet, made owner-only, and leaves no file beside the backup', async () => {
    const out = join(root, 'alone', 'clinic.backup');
    mkdirSync(join(root, 'alone'));
    const b = await vigil(['backup', '--data-dir', source, '--out', out]);
    assert.equal(b.code, 0, b.stderr);
    const target = join(root, 'not-yet', 'restored');
    const r = await vigil(['restore', out, '--data-dir', target, '--json'], {
      VIGIL_MASTER_KEY_FILE: join(source, 'master.key'),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { counts: { patients: number } }).counts.patients, 1);
    assert.equal(statSync(target).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(join(root, 'alone')), ['clinic.backup']);
  });

  it('refuses a backup that the master key does not open, and a file that is not a backup', async () => {
    const other = join(root, 'other');
    assert.equal((await vigil(['init', '--data-dir', other])).code, 0);
    const wrongKey = await vigil(['restore', backup, '--data-dir', join(root, 'fresh'), '--force'], {
      VIGIL_MASTER_KEY_FILE: join(other, 'master.key'),
    });
    oneLineError(wrongKey, /does not open this backup/);

    const junk = join(root, 'junk.backup');
    writeFileSync(
      junk,
      'this is not a database at all, but it is long enough to look like a file'.repeat(100),
    );
    const bad = await vigil(['restore', junk, '--data-dir', join(root, 'fresh2')], {
      VIGIL_MASTER_KEY_FILE: join(other, 'master.key'),
    });
    oneLineError(bad, /not a SQLite database|cannot be opened/);
  });

  it('refuses to restore over a data dir a server has open, and restores once it is closed', async () => {
    const served = join(root, 'served');
    assert.equal((await vigil(['init', '--data-dir', served])).code, 0);
    const key = { VIGIL_MASTER_KEY_FILE: join(source, 'master.key') };
    // What a running server holds: an open connection to the data dir's database.
    const server = await openStore({ dataDir: served });
    try {
      const refused = await vigil(['restore', backup, '--data-dir', served, '--force'], key);
      oneLineError(refused, /in use by a running Vigil server.*stop the server first/);
      await server.db.insertInto('settings').values({ key: 'written-after', value: 'x' }).execute();
    } finally {
      await server.close();
    }
    const restored = await vigil(['restore', backup, '--data-dir', served, '--force', '--json'], key);
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal((JSON.parse(restored.stdout) as { counts: { patients: number } }).counts.patients, 1);
  });

  it("replaces the data dir's ca.crt with the backup's CA, whole and with mode 0644", async () => {
    const target = join(root, 'ca-target');
    mkdirSync(target);
    // A ca.crt from an earlier installation, truncated, and owner-only.
    writeFileSync(join(target, 'ca.crt'), '-----BEGIN CERT', { mode: 0o600 });
    const r = await vigil(['restore', backup, '--data-dir', target], {
      VIGIL_MASTER_KEY_FILE: join(source, 'master.key'),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(target, 'ca.crt'), 'utf8'), readFileSync(join(source, 'ca.crt'), 'utf8'));
    assert.equal(statSync(join(target, 'ca.crt')).mode & 0o777, 0o644);
  });
});
