/**
 * Audit verification speed (issue #4: 1,000,000 entries in under 5 s). Builds a real trail of
 * N hash-chained entries with a signed checkpoint every 10,000 in a temp SQLite store, then
 * times AuditLog.verify() against a reference measured in the same run: a plain scan that
 * reads the same rows through the same raw cursor without hashing anything.
 *
 *   node --import tsx bench/audit-verify.ts [--entries 1000000]
 */
import { randomBytes } from 'node:crypto';
import { entryHash, GENESIS_HASH, TUPLE_COLUMNS } from '../src/audit/audit-hash.ts';
import { AuditLog } from '../src/audit/audit-log.ts';
import { AuditSigner } from '../src/audit/audit-signer.ts';
import { KeyRing } from '../src/crypto/key-ring.ts';
import { openStore } from '../src/store/database.ts';
import { tempDir } from './cleanup.ts';

const TARGET_SECONDS = 5;
const arg = process.argv.indexOf('--entries');
const N = arg > 0 ? Number(process.argv[arg + 1]) : 1_000_000;
if (!Number.isSafeInteger(N) || N < 1) {
  process.stderr.write('bench/audit-verify: --entries must be a positive whole number\n');
  process.exit(2);
}

const dir = tempDir('vigil-bench-audit-');
const store = await openStore({ dataDir: dir.path });
try {
  const sqlite = store.sqlite;
  if (!sqlite) throw new Error('needs SQLite');
  const keys = new KeyRing(store.db, { id: 'bench', key: randomBytes(32) });
  const signer = await AuditSigner.load(store.db, keys);
  const log = new AuditLog(store.db, sqlite);

  const t0 = performance.now();
  const insert = sqlite.prepare(
    'INSERT INTO audit_log (seq, ts, actor, action, patient_id, resource, purpose, outcome, source, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)',
  );
  let prev = GENESIS_HASH;
  const fill = sqlite.transaction((from: number, to: number) => {
    for (let seq = from; seq <= to; seq++) {
      const e = {
        seq,
        ts: 1_750_000_000_000 + seq * 250,
        actor: `user:clinician${seq % 40}`,
        action: seq % 7 === 0 ? 'observation.search' : 'observation.read',
        patient_id: `p-${seq % 5000}`,
        resource: `Patient/p-${seq % 5000}/Observation`,
        purpose: 'treatment',
        outcome: 'success',
        source: `10.0.${seq % 250}.${seq % 200}`,
        prev_hash: prev,
      };
      prev = entryHash(e);
      insert.run(
        e.seq,
        e.ts,
        e.actor,
        e.action,
        e.patient_id,
        e.resource,
        e.purpose,
        e.outcome,
        e.source,
        e.prev_hash,
        prev,
      );
    }
  });
  for (let from = 1; from <= N; from += 10_000) {
    fill(from, Math.min(N, from + 9_999));
    await log.checkpoint(signer);
    if (process.stderr.isTTY) process.stderr.write(`\rbuilding trail ${Math.min(N, from + 9_999)}/${N}`);
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  const buildS = (performance.now() - t0) / 1000;

  // Reference: the same raw cursor over the same rows, without hashing or signatures.
  const r0 = performance.now();
  let scanned = 0;
  for (const _row of sqlite
    .prepare(`SELECT ${TUPLE_COLUMNS} FROM audit_log ORDER BY seq`)
    .raw(true)
    .iterate())
    scanned++;
  const scanS = (performance.now() - r0) / 1000;

  const v0 = performance.now();
  const report = await log.verify({ check: signer.verifier().check });
  const verifyS = (performance.now() - v0) / 1000;
  if (!report.intact || report.entries !== N || scanned !== N) {
    throw new Error(`bench trail did not verify: ${JSON.stringify(report.problems.slice(0, 3))}`);
  }

  const verdict = verifyS < TARGET_SECONDS ? 'PASS' : 'FAIL';
  process.stdout.write(
    [
      `audit verify: ${N.toLocaleString('en-US')} entries, ${report.checkpoints} signed checkpoints (built in ${buildS.toFixed(1)} s)`,
      `  reference: raw scan, no hashing         ${scanS.toFixed(2)} s  (${Math.round(N / scanS).toLocaleString('en-US')} entries/s)`,
      `  verify (chain + Ed25519 checkpoints)   ${verifyS.toFixed(2)} s  (${Math.round(N / verifyS).toLocaleString('en-US')} entries/s)`,
      `  ratio verify / scan: ${(verifyS / scanS).toFixed(2)}×   target < ${TARGET_SECONDS} s: ${verdict}`,
      '',
    ].join('\n'),
  );
} finally {
  await store.close();
  dir.remove();
}
