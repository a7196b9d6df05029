import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import { tempStore } from '../../test/support/temp-store.ts';
import { isVigilError } from '../errors/catalogue.ts';
import { AuditAnchorKeeper, anchorPath, readAnchor, writeAnchor } from './audit-anchor.ts';
import { AuditLog } from './audit-log.ts';
import { AuditSigner } from './audit-signer.ts';

describe('audit anchor file', () => {
  it('round-trips the newest checkpoint and refuses a damaged file saying so', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-anchor-'));
    try {
      assert.equal(readAnchor(dir), undefined);
      writeAnchor(dir, {
        id: 4,
        audit_seq: 120,
        audit_hash: 'a'.repeat(64),
        ts: 1_800_000_000_000,
        prev_signature: 'p',
        key_id: 'k1',
        signature: 'c2ln',
      });
      assert.deepEqual(readAnchor(dir), { id: 4, auditSeq: 120, signature: 'c2ln' });
      for (const bad of ['{not json', '{"id": "4", "auditSeq": 1, "signature": "x"}', '[]', 'null']) {
        writeFileSync(anchorPath(dir), bad);
        assert.throws(
          () => readAnchor(dir),
          (e) => isVigilError(e) && /audit anchor was damaged/.test(e.detail),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('audit anchor file that is not a file', () => {
  it('is refused when a named pipe, without waiting for a writer', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-anchor-'));
    try {
      execFileSync('mkfifo', [anchorPath(dir)]);
      assert.throws(
        () => readAnchor(dir),
        (e) => isVigilError(e) && /audit-anchor\.json is a named pipe, not a file/.test(e.detail),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is refused when larger than 64 KiB, not read whole', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-anchor-'));
    try {
      writeFileSync(anchorPath(dir), ' '.repeat(64 * 1024 + 1));
      assert.throws(
        () => readAnchor(dir),
        (e) => isVigilError(e) && /is larger than 64 KiB/.test(e.detail),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('audit anchor keeper', () => {
  /** A trail with two signed checkpoints, the anchor at the second. */
  async function anchoredTrail() {
    const t = await tempStore();
    const audit = new AuditLog(t.store.db, t.store.sqlite);
    const signer = await AuditSigner.load(t.store.db, t.keys);
    const refusals: string[] = [];
    const keeper = new AuditAnchorKeeper({
      audit,
      signer,
      dataDir: t.dir,
      onRefused: (detail) => void refusals.push(detail),
    });
    const entry = (n: number) =>
      audit.append({
        actor: 'user:ada',
        action: 'patient.read',
        resource: `Patient/p${n}`,
        outcome: 'success',
      });
    for (let i = 0; i < 3; i++) await entry(i);
    await keeper.signHead();
    for (let i = 3; i < 6; i++) await entry(i);
    const second = await keeper.signHead();
    assert.equal(second?.id, 2);
    const sqlite = t.store.sqlite as BetterSqlite3.Database;
    return { ...t, audit, signer, keeper, refusals, entry, sqlite };
  }

  it('moves the anchor along an unbroken chain of checkpoints', async () => {
    const t = await anchoredTrail();
    try {
      await t.entry(9);
      assert.equal((await t.keeper.signHead())?.id, 3);
      assert.equal(readAnchor(t.dir)?.id, 3);
      assert.deepEqual(t.refusals, []);
    } finally {
      await t.cleanup();
    }
  });

  it('refuses to sign over a cut tail, keeps the anchor and reports it once', async () => {
    const t = await anchoredTrail();
    try {
      const before = readFileSync(anchorPath(t.dir), 'utf8');
      t.sqlite.prepare('DELETE FROM audit_log WHERE seq > 3').run();
      t.sqlite.prepare('DELETE FROM audit_checkpoints WHERE id > 1').run();
      await t.entry(7);
      assert.equal(await t.keeper.signHead(), undefined);
      assert.equal(await t.keeper.signHead(), undefined);
      assert.equal(readFileSync(anchorPath(t.dir), 'utf8'), before);
      assert.equal(t.refusals.length, 1, t.refusals.join('\n'));
      assert.match(t.refusals[0] as string, /names checkpoint 2, but the database ends at checkpoint 1/);
      const count = t.sqlite.prepare('SELECT count(*) AS n FROM audit_checkpoints').get() as { n: number };
      assert.equal(count.n, 1, 'nothing was signed under the deleted id');
      const report = await t.audit.verify({ check: t.signer.verifier().check, anchor: readAnchor(t.dir) });
      assert.equal(report.intact, false);
    } finally {
      await t.cleanup();
    }
  });

  it('refuses when the anchored checkpoint was replaced, even with checkpoints after it', async () => {
    const t = await anchoredTrail();
    try {
      t.sqlite.prepare("UPDATE audit_checkpoints SET signature = 'forged' WHERE id = 2").run();
      await t.entry(8);
      assert.equal(await t.keeper.signHead(), undefined);
      assert.match(
        t.refusals[0] as string,
        /checkpoint 2 in the database is not the one the audit anchor names/,
      );
    } finally {
      await t.cleanup();
    }
  });

  it('refuses to sign over a rewritten signed entry', async () => {
    const t = await anchoredTrail();
    try {
      t.sqlite.prepare("UPDATE audit_log SET hash = 'x' WHERE seq = 6").run();
      await t.entry(8);
      assert.equal(await t.keeper.signHead(), undefined);
      assert.match(t.refusals[0] as string, /no longer carries the hash checkpoint 2 signed/);
    } finally {
      await t.cleanup();
    }
  });

  it('refuses while the anchor file is damaged rather than replace it', async () => {
    const t = await anchoredTrail();
    try {
      writeFileSync(anchorPath(t.dir), '{not json');
      await t.entry(8);
      assert.equal(await t.keeper.signHead(), undefined);
      assert.equal(readFileSync(anchorPath(t.dir), 'utf8'), '{not json');
      assert.match(t.refusals[0] as string, /audit anchor was damaged/);
    } finally {
      await t.cleanup();
    }
  });
});
