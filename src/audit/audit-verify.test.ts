import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import fc from 'fast-check';
import { tempStore } from '../../test/support/temp-store.ts';
import { entryHash } from './audit-hash.ts';
import { AuditLog } from './audit-log.ts';
import { AuditSigner } from './audit-signer.ts';
import type { AuditAnchor, AuditRow } from './audit-verify.ts';

/**
 * Every read path: the raw SQLite cursor, the portable Kysely pages (PostgreSQL's), and worker
 * threads over seq ranges (forced on for small trails; a million entries use it by default).
 */
type ReadPath = 'raw' | 'kysely' | 'workers';
const READ_PATHS: ReadPath[] = ['raw', 'kysely', 'workers'];

async function trail(entries: number, checkpointEvery = 0, path: ReadPath = 'raw') {
  const t = await tempStore();
  const log = new AuditLog(t.store.db, path === 'kysely' ? undefined : (t.store.sqlite ?? undefined));
  const parallel = path === 'workers' ? { workers: 2, minEntries: 0 } : { workers: 1 };
  const signer = await AuditSigner.load(t.store.db, t.keys);
  for (let i = 1; i <= entries; i++) {
    await log.append(
      {
        actor: `user:u${i % 3}`,
        action: 'observation.read',
        resource: `Patient/p${i % 5}`,
        outcome: 'success',
      },
      1_700_000_000_000 + i * 1000,
    );
    if (checkpointEvery > 0 && i % checkpointEvery === 0) await log.checkpoint(signer);
  }
  await log.checkpoint(signer);
  const sqlite = t.store.sqlite as BetterSqlite3.Database;
  const verify = (anchor?: AuditAnchor) => log.verify({ check: signer.verifier().check, anchor, parallel });
  return { ...t, log, signer, sqlite, verify };
}

/** An attacker with write access to the database but not the master key. */
function rehashFrom(db: BetterSqlite3.Database, fromSeq: number): void {
  const rows = db.prepare('SELECT * FROM audit_log WHERE seq >= ? ORDER BY seq').all(fromSeq) as Array<
    Record<string, unknown> & { seq: number; hash: string }
  >;
  let prev = (db.prepare('SELECT hash FROM audit_log WHERE seq = ?').get(fromSeq - 1) as { hash: string })
    .hash;
  for (const row of rows) {
    const { hash: _old, ...rest } = row;
    const next = entryHash({ ...(rest as unknown as Omit<AuditRow, 'hash'>), prev_hash: prev });
    db.prepare('UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?').run(prev, next, row.seq);
    prev = next;
  }
}

for (const path of READ_PATHS)
  describe(`audit verification (${path})`, () => {
    it('passes an untouched trail and reports its signed checkpoints', async () => {
      const t = await trail(30, 10, path);
      try {
        await t.log.append({ actor: 'x', action: 'late.entry', resource: 'System', outcome: 'success' });
        const r = await t.verify();
        assert.equal(r.intact, true, JSON.stringify(r.problems));
        assert.equal(r.entries, 31);
        assert.equal(r.checkpoints, 3);
        assert.equal(r.unsignedTail, 1);
      } finally {
        await t.cleanup();
      }
    });

    it('finds an edited entry and names it', async () => {
      const t = await trail(30, 0, path);
      try {
        t.sqlite.prepare("UPDATE audit_log SET patient_id = 'p-other' WHERE seq = 17").run();
        const r = await t.verify();
        assert.equal(r.brokenAt, 17);
        assert.equal(r.problems[0]?.kind, 'edited');
      } finally {
        await t.cleanup();
      }
    });

    it('finds removed entries, reordered entries and a cut-off tail', async () => {
      const t = await trail(30, 0, path);
      try {
        t.sqlite.prepare('DELETE FROM audit_log WHERE seq IN (12, 13)').run();
        let r = await t.verify();
        assert.deepEqual(
          r.problems.map((p) => [p.kind, p.at]),
          [['missing', 12]],
        );

        t.sqlite.exec(
          'UPDATE audit_log SET seq = -1 WHERE seq = 20; UPDATE audit_log SET seq = 20 WHERE seq = 21; UPDATE audit_log SET seq = 21 WHERE seq = -1;',
        );
        r = await t.verify();
        assert.ok(
          r.problems.some((p) => p.kind === 'reordered' && p.at === 20),
          JSON.stringify(r.problems),
        );

        t.sqlite.prepare('DELETE FROM audit_log WHERE seq > 25').run();
        r = await t.verify();
        assert.ok(
          r.problems.some((p) => p.kind === 'truncated' && p.at === 26),
          JSON.stringify(r.problems),
        );
      } finally {
        await t.cleanup();
      }
    });

    it('finds a chain rewritten with fresh hashes, which the hash chain alone would accept', async () => {
      const t = await trail(40, 10, path);
      try {
        t.sqlite.prepare("UPDATE audit_log SET actor = 'user:nobody' WHERE seq = 23").run();
        rehashFrom(t.sqlite, 23);
        const r = await t.verify();
        assert.equal(r.intact, false);
        assert.deepEqual(
          r.problems.map((p) => [p.kind, p.at]),
          [
            ['checkpoint-mismatch', 30],
            ['checkpoint-mismatch', 40],
          ],
        );
      } finally {
        await t.cleanup();
      }
    });

    it('finds a forged checkpoint and checkpoints deleted behind the anchor', async () => {
      const t = await trail(20, 5, path);
      try {
        const newest = (await t.log.checkpoint(t.signer)) ?? undefined;
        assert.equal(newest, undefined, 'nothing new to sign');
        const last = t.sqlite.prepare('SELECT * FROM audit_checkpoints ORDER BY id DESC LIMIT 1').get() as {
          id: number;
          audit_seq: number;
          signature: string;
        };
        const anchor = { id: last.id, auditSeq: last.audit_seq, signature: last.signature };
        t.sqlite.prepare('UPDATE audit_checkpoints SET audit_seq = 9 WHERE id = 2').run();
        let r = await t.verify(anchor);
        assert.ok(
          r.problems.some((p) => p.kind === 'checkpoint-forged'),
          JSON.stringify(r.problems),
        );

        t.sqlite.prepare('UPDATE audit_checkpoints SET audit_seq = 10 WHERE id = 2').run();
        t.sqlite.prepare('DELETE FROM audit_checkpoints WHERE id = ?').run(last.id);
        t.sqlite.prepare('DELETE FROM audit_log WHERE seq > 15').run();
        r = await t.verify(anchor);
        assert.equal(r.intact, false);
        assert.ok(
          r.problems.some((p) => p.kind === 'checkpoint-missing'),
          JSON.stringify(r.problems),
        );
      } finally {
        await t.cleanup();
      }
    });
  });

describe('audit verification, properties over every read path', () => {
  it('finds any single tampering at any position (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 3, max: 40 }),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        fc.constantFrom('edit', 'delete', 'swap', 'truncate'),
        fc.constantFrom(...READ_PATHS),
        async (n, where, op, readPath) => {
          const t = await trail(n, 0, readPath);
          try {
            const seq = op === 'swap' ? 1 + Math.floor(where * (n - 1)) : 1 + Math.floor(where * n);
            if (op === 'edit')
              t.sqlite.prepare("UPDATE audit_log SET outcome = 'denied' WHERE seq = ?").run(seq);
            if (op === 'delete') t.sqlite.prepare('DELETE FROM audit_log WHERE seq = ?').run(seq);
            if (op === 'truncate') t.sqlite.prepare('DELETE FROM audit_log WHERE seq >= ?').run(seq);
            if (op === 'swap') {
              t.sqlite.prepare('UPDATE audit_log SET seq = -1 WHERE seq = ?').run(seq);
              t.sqlite.prepare('UPDATE audit_log SET seq = ? WHERE seq = ?').run(seq, seq + 1);
              t.sqlite.prepare('UPDATE audit_log SET seq = ? WHERE seq = -1').run(seq + 1);
            }
            const r = await t.verify();
            assert.equal(r.intact, false, `${op} at ${seq} of ${n} went unnoticed`);
            assert.equal(r.brokenAt, seq, `${op} at ${seq} of ${n} located at ${r.brokenAt}`);
          } finally {
            await t.cleanup();
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('reports exactly what the single walk reports, however the seq ranges are cut (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 4, max: 30 }),
        fc.array(
          fc.record({
            op: fc.constantFrom('edit', 'delete', 'relink'),
            where: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        fc.integer({ min: 2, max: 4 }),
        async (n, tamperings, workers) => {
          const t = await trail(n, 7);
          try {
            for (const { op, where } of tamperings) {
              const seq = 1 + Math.floor(where * n);
              if (op === 'edit') t.sqlite.prepare("UPDATE audit_log SET actor = 'x' WHERE seq = ?").run(seq);
              if (op === 'delete') t.sqlite.prepare('DELETE FROM audit_log WHERE seq = ?').run(seq);
              if (op === 'relink')
                t.sqlite.prepare("UPDATE audit_log SET prev_hash = 'f' WHERE seq = ?").run(seq);
            }
            const check = t.signer.verifier().check;
            const single = await t.log.verify({ check, parallel: { workers: 1 } });
            const split = await t.log.verify({ check, parallel: { workers, minEntries: 0 } });
            assert.deepEqual(split, single);
          } finally {
            await t.cleanup();
          }
        },
      ),
      { numRuns: 15 },
    );
  });

  it('hashes any text the way the writer did, so an untouched trail stays intact (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(fc.string({ unit: 'binary', maxLength: 40 }), fc.option(fc.string({ unit: 'binary' }))),
          {
            minLength: 2,
            maxLength: 12,
          },
        ),
        async (texts) => {
          const t = await tempStore();
          try {
            const log = new AuditLog(t.store.db, t.store.sqlite ?? undefined);
            for (const [actor, patient] of texts) {
              await log.append({
                actor,
                action: 'a',
                resource: actor,
                outcome: 'success',
                patientId: patient ?? undefined,
              });
            }
            const r = await log.verify({ parallel: { workers: 2, minEntries: 0 } });
            assert.equal(r.intact, true, JSON.stringify(r.problems));
            assert.equal(r.entries, texts.length);
          } finally {
            await t.cleanup();
          }
        },
      ),
      { numRuns: 10 },
    );
  });
});

describe('audit verification against the anchor', () => {
  it('finds the anchored checkpoint deleted and signed again, with newer checkpoints after it', async () => {
    const t = await trail(20, 5);
    try {
      const cp = t.sqlite.prepare('SELECT * FROM audit_checkpoints WHERE id = 2').get() as {
        audit_seq: number;
        signature: string;
      };
      const anchor = { id: 2, auditSeq: cp.audit_seq, signature: cp.signature };
      // What a server without the anchor check did after a cut: sign the shortened chain afresh.
      t.sqlite.prepare('DELETE FROM audit_log WHERE seq > 5').run();
      t.sqlite.prepare('DELETE FROM audit_checkpoints WHERE id > 1').run();
      for (let i = 0; i < 3; i++) {
        await t.log.append({ actor: 'user:x', action: 'a', resource: 'r', outcome: 'success' });
        await t.log.checkpoint(t.signer);
      }
      const r = await t.verify(anchor);
      assert.equal(r.intact, false);
      assert.ok(
        r.problems.some((p) => p.kind === 'checkpoint-missing' && /deleted and signed again/.test(p.detail)),
        JSON.stringify(r.problems),
      );
    } finally {
      await t.cleanup();
    }
  });
});
