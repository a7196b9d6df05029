/** Restore and key rotation as an operator meets them across installations, keys and versions. */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { AuditAnchorKeeper, readAnchor } from '../src/audit/audit-anchor.ts';
import { AuditLog } from '../src/audit/audit-log.ts';
import { AuditSigner } from '../src/audit/audit-signer.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { loadMasterKeyFile } from '../src/crypto/master-key.ts';
import { openStore, sqlitePath } from '../src/store/database.ts';
import { type CliRun, runVigil } from './support/cli-process.ts';

const vigil = (args: string[], env: Record<string, string> = {}) => runVigil(args, { env });

function oneLineError(r: CliRun, mentions: RegExp): void {
  assert.notEqual(r.code, 0, r.stdout);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^vigil: /);
  assert.doesNotMatch(r.stderr, /unexpected error/);
  assert.match(r.stderr, mentions);
}

async function init(dir: string): Promise<string> {
  const r = await vigil(['init', '--data-dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  return loadMasterKeyFile(join(dir, 'master.key')).id;
}

function countRows(dataDir: string, sql: string, ...params: unknown[]): number {
  const db = new BetterSqlite3(sqlitePath(dataDir), { readonly: true });
  try {
    return (db.prepare(sql).get(...params) as { n: number }).n;
  } finally {
    db.close();
  }
}

/** As the server does every minute: one more audit entry, then a signed checkpoint and anchor. */
async function signCheckpoint(dataDir: string): Promise<number> {
  const store = await openStore({ dataDir });
  try {
    const keys = new KeyRing(store.db, loadMasterKeyFile(join(dataDir, 'master.key')));
    const audit = new AuditLog(store.db, store.sqlite);
    await audit.append({ actor: 'test', action: 'system.backup', resource: 'System', outcome: 'success' });
    const signer = await AuditSigner.load(store.db, keys);
    const keeper = new AuditAnchorKeeper({
      audit,
      signer,
      dataDir,
      onRefused: (d) => assert.fail(d),
    });
    const row = await keeper.signHead();
    assert.ok(row);
    return row.id;
  } finally {
    await store.close();
  }
}

describe('restore and rotation across installations', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'vigil-ops-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("installs the key that opened another installation's backup, moving the data dir's own aside", async () => {
    const d = join(root, 'f1-d');
    const x = join(root, 'f1-x');
    const dKey = await init(d);
    const xKey = await init(x);
    const bx = join(root, 'f1-x.backup');
    assert.equal((await vigil(['backup', '--data-dir', x, '--out', bx])).code, 0);

    const r = await vigil(['restore', bx, '--data-dir', d, '--force', '--json'], {
      VIGIL_MASTER_KEY_FILE: join(x, 'master.key'),
    });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { masterKeyId: string; keyMovedAside: string };
    assert.equal(out.masterKeyId, xKey);
    assert.equal(loadMasterKeyFile(join(d, 'master.key')).id, xKey);
    assert.equal(statSync(join(d, 'master.key')).mode & 0o777, 0o600);
    assert.match(out.keyMovedAside, /master\.key\.before-restore-/);
    assert.equal(loadMasterKeyFile(out.keyMovedAside).id, dKey, 'the replaced key is kept, not destroyed');

    // Later console commands use the data dir's key: no key of the store ends up under another.
    const p = await vigil(['patient', 'add', '--data-dir', d, '--id', 'p-f1', '--name', 'Ada L']);
    assert.equal(p.code, 0, p.stderr);
    const foreign = countRows(
      d,
      `SELECT count(*) AS n FROM (SELECT master_key_id FROM data_keys WHERE destroyed_at IS NULL
         UNION ALL SELECT master_key_id FROM sealed_secrets) WHERE master_key_id != ?`,
      xKey,
    );
    assert.equal(foreign, 0);
  });

  it('refuses a console command whose master key does not wrap the store, before writing', async () => {
    const d = join(root, 'f1b-d');
    const x = join(root, 'f1b-x');
    const dKey = await init(d);
    await init(x);
    const before = countRows(d, 'SELECT count(*) AS n FROM patients');
    const r = await vigil(['patient', 'add', '--data-dir', d, '--id', 'p-f1b', '--name', 'Ada L'], {
      VIGIL_MASTER_KEY_FILE: join(x, 'master.key'),
    });
    oneLineError(
      r,
      new RegExp(`wrapped by master key ${dKey}.*point VIGIL_MASTER_KEY_FILE at the key ${dKey}`),
    );
    assert.equal(countRows(d, 'SELECT count(*) AS n FROM patients'), before);
  });

  it('refuses a backup from a newer Vigil before the data dir is touched, and a newer store at start', async () => {
    const d = join(root, 'f2-d');
    const n = join(root, 'f2-n');
    await init(d);
    await init(n);
    assert.equal(
      (await vigil(['patient', 'add', '--data-dir', d, '--id', 'p-f2', '--name', 'Ada L'])).code,
      0,
    );
    const bn = join(root, 'f2-n.backup');
    assert.equal((await vigil(['backup', '--data-dir', n, '--out', bn])).code, 0);
    const newer = new BetterSqlite3(bn);
    newer.prepare('INSERT INTO kysely_migration (name, timestamp) VALUES (?, ?)').run('0021-future', 'now');
    newer.close();

    const r = await vigil(['restore', bn, '--data-dir', d, '--force'], {
      VIGIL_MASTER_KEY_FILE: join(n, 'master.key'),
    });
    oneLineError(r, /made by a newer Vigil \(0021-future\); upgrade Vigil first/);
    assert.equal(countRows(d, 'SELECT count(*) AS n FROM patients'), 1, 'the database is untouched');

    const db = new BetterSqlite3(sqlitePath(d));
    db.prepare('INSERT INTO kysely_migration (name, timestamp) VALUES (?, ?)').run('0021-future', 'now');
    db.close();
    const start = await vigil(['audit', 'verify', '--data-dir', d]);
    oneLineError(start, /made by a newer Vigil \(0021-future\); upgrade Vigil first/);
  });

  it('keeps the old key on request when rotating, and restore names the key a backup needs', async () => {
    const d = join(root, 'f3-d');
    const oldKey = await init(d);
    const b = join(root, 'f3.backup');
    const made = await vigil(['backup', '--data-dir', d, '--out', b]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, new RegExp(`made under master key ${oldKey}`));

    const kept = join(root, 'f3-old.key');
    const rot = await vigil(['keys', 'rotate', '--data-dir', d, '--keep-old-key', kept, '--json']);
    assert.equal(rot.code, 0, rot.stderr);
    const r = JSON.parse(rot.stdout) as {
      backupsBeforeNeedKeyId: string;
      oldKeyKeptIn: string;
      finished: boolean;
    };
    assert.equal(r.finished, true);
    assert.equal(r.backupsBeforeNeedKeyId, oldKey);
    assert.equal(r.oldKeyKeptIn, kept);
    assert.equal(statSync(kept).mode & 0o777, 0o600);
    assert.equal(loadMasterKeyFile(kept).id, oldKey);

    const again = await vigil(['keys', 'rotate', '--data-dir', d, '--keep-old-key', kept]);
    oneLineError(again, /exists; choose another --keep-old-key file/);

    const human = await vigil(['keys', 'rotate', '--data-dir', d]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(
      human.stdout,
      /backups made before now open only with the old key mk-\S+, which is destroyed/,
    );

    const t = join(root, 'f3-t');
    const refused = await vigil(['restore', b, '--data-dir', t], {
      VIGIL_MASTER_KEY_FILE: join(d, 'master.key'),
    });
    oneLineError(
      refused,
      new RegExp(`made under master key ${oldKey}; give restore that key with VIGIL_MASTER_KEY_FILE`),
    );
    const ok = await vigil(['restore', b, '--data-dir', t], { VIGIL_MASTER_KEY_FILE: kept });
    assert.equal(ok.code, 0, ok.stderr);
  });

  it("moves the replaced database's audit anchor aside and anchors the restored checkpoint", async () => {
    const d = join(root, 'f4-d');
    await init(d);
    assert.equal(await signCheckpoint(d), 1);
    const b = join(root, 'f4.backup');
    assert.equal((await vigil(['backup', '--data-dir', d, '--out', b])).code, 0);
    await signCheckpoint(d);
    assert.equal(await signCheckpoint(d), 3);

    const r = await vigil(['restore', b, '--data-dir', d, '--force', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { anchorMovedAside: string; anchoredCheckpoint: number };
    assert.match(out.anchorMovedAside, /audit-anchor\.json\.before-restore-/);
    assert.ok(existsSync(out.anchorMovedAside));
    assert.equal(out.anchoredCheckpoint, 1);
    assert.equal(readAnchor(d)?.id, 1);
    assert.ok(readdirSync(d).some((f) => f.startsWith('audit-anchor.json.before-restore-')));

    const verify = await vigil(['audit', 'verify', '--data-dir', d]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    // The server's keeper signs again over the restored trail.
    assert.equal(await signCheckpoint(d), 2);
  });

  it('restores into a new data dir with the key kept apart, installing that key there', async () => {
    const d = join(root, 'f1c-d');
    const key = await init(d);
    const b = join(root, 'f1c.backup');
    assert.equal((await vigil(['backup', '--data-dir', d, '--out', b])).code, 0);
    const apart = join(root, 'f1c-apart.key');
    copyFileSync(join(d, 'master.key'), apart);
    const t = join(root, 'f1c-t');
    const r = await vigil(['restore', b, '--data-dir', t], { VIGIL_MASTER_KEY_FILE: apart });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(loadMasterKeyFile(join(t, 'master.key')).id, key);
    assert.doesNotMatch(r.stdout, /before-restore/);
  });
});
