import type { Schema } from '../store/schema.ts';
import { type AuditTuple, GENESIS_HASH, tupleHash } from './audit-hash.ts';
import type { CheckpointBody, SignatureCheck } from './audit-signer.ts';

export type AuditRow = Schema['audit_log'];
export type CheckpointRow = CheckpointBody & { signature: string };

export type ProblemKind =
  | 'edited'
  | 'missing'
  | 'reordered'
  | 'relinked'
  | 'truncated'
  | 'checkpoint-mismatch'
  | 'checkpoint-forged'
  | 'checkpoint-missing';

export interface Problem {
  kind: ProblemKind;
  /** The audit entry where it was found (for a checkpoint problem: the entry it vouches for). */
  at: number;
  detail: string;
}

export interface VerifyReport {
  entries: number;
  intact: boolean;
  /** The first problem found; later entries are still checked, up to a cap of problems. */
  brokenAt: number | undefined;
  problems: Problem[];
  checkpoints: number;
  lastCheckpoint: { id: number; auditSeq: number; ts: number } | undefined;
  /** Entries after the last signed checkpoint: chained, but not yet vouched for by a signature. */
  unsignedTail: number;
}

const MAX_PROBLEMS = 50;

/** The chain walk's result, whichever way it was done (one cursor here, or worker threads). */
export interface ChainWalk {
  entries: number;
  lastSeq: number;
  /** In seq order, at most MAX_PROBLEMS. */
  problems: Problem[];
}

/** Another way to walk the chain over the same checkpoints (audit-verify-parallel.ts). */
export type ChainWalker = (checkpoints: CheckpointRow[], maxProblems: number) => Promise<ChainWalk>;

/** A copy of the newest checkpoint kept outside the database (a file, a SIEM). */
export interface AuditAnchor {
  id: number;
  auditSeq: number;
  signature: string;
}

/**
 * Walks the hash chain in seq order and the signed checkpoints beside it. Finds an edited entry
 * (its content no longer matches its hash), a removed one (a gap in seq), a moved one (content
 * that hashes correctly under a nearby seq), a rewritten chain (hashes recomputed after an edit
 * no longer match a signed checkpoint), and a cut-off tail (the log ends before the last signed
 * checkpoint, or the checkpoint chain is shorter than the anchor kept outside the database).
 */
export async function verifyAudit(
  rows: AsyncIterable<AuditTuple[]> | Iterable<AuditTuple[]> | ChainWalker,
  checkpoints: CheckpointRow[],
  check: SignatureCheck | undefined,
  anchor?: AuditAnchor | undefined,
): Promise<VerifyReport> {
  const problems: Problem[] = [];
  const report = (p: Problem) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };

  const bySeq = new Map<number, CheckpointRow>();
  let prevSig = '';
  checkpoints.forEach((c, i) => {
    // Checkpoint problems are located at the entry the checkpoint vouches for.
    if (c.id !== i + 1)
      report({ kind: 'checkpoint-missing', at: c.audit_seq, detail: `checkpoint ${i + 1} is missing` });
    if (c.prev_signature !== prevSig)
      report({
        kind: 'checkpoint-forged',
        at: c.audit_seq,
        detail: `checkpoint ${c.id} does not follow checkpoint ${c.id - 1}`,
      });
    if (check && !check(c, c.signature))
      report({
        kind: 'checkpoint-forged',
        at: c.audit_seq,
        detail: `checkpoint ${c.id} has no valid signature`,
      });
    bySeq.set(c.audit_seq, c);
    prevSig = c.signature;
  });
  const last = checkpoints.at(-1);
  if (anchor && (!last || last.id < anchor.id)) {
    report({
      kind: 'checkpoint-missing',
      at: anchor.auditSeq,
      detail: `the anchor outside the database names checkpoint ${anchor.id}, the database ${last ? `ends at ${last.id}` : 'has none'}`,
    });
  } else if (anchor) {
    // Not only the newest: a checkpoint re-signed under the anchor's id, with others after it,
    // must not pass for the one the anchor copied.
    const anchored = checkpoints.find((c) => c.id === anchor.id);
    if (anchored?.signature !== anchor.signature || anchored.audit_seq !== anchor.auditSeq)
      report({
        kind: 'checkpoint-missing',
        at: anchor.auditSeq,
        detail: `checkpoint ${anchor.id} in the database is not the one the anchor outside it names; it was deleted and signed again`,
      });
  }

  const walk =
    typeof rows === 'function' ? await rows(checkpoints, MAX_PROBLEMS) : await walkChain(rows, bySeq);
  for (const p of walk.problems) report(p);
  const { entries, lastSeq } = walk;
  if (last && last.audit_seq > lastSeq) {
    report({
      kind: 'truncated',
      at: lastSeq + 1,
      detail: `the log ends at entry ${lastSeq} but checkpoint ${last.id} vouched for entries up to ${last.audit_seq}`,
    });
  }
  problems.sort((a, b) => a.at - b.at);
  return {
    entries,
    intact: problems.length === 0,
    brokenAt: problems[0]?.at,
    problems,
    checkpoints: checkpoints.length,
    lastCheckpoint: last ? { id: last.id, auditSeq: last.audit_seq, ts: last.ts } : undefined,
    unsignedTail: last ? Math.max(0, lastSeq - last.audit_seq) : lastSeq,
  };
}

/**
 * The chain walk in seq order: a gap is a removed entry, an entry whose content no longer hashes
 * to its hash was edited (or moved, when it hashes correctly under a nearby seq), an intact
 * entry that does not name its predecessor's hash was relinked, and an entry a checkpoint signed
 * must still carry the hash it signed. audit-verify-parallel.ts mirrors this loop in its worker.
 */
async function walkChain(
  rows: AsyncIterable<AuditTuple[]> | Iterable<AuditTuple[]>,
  bySeq: Map<number, CheckpointRow>,
): Promise<ChainWalk> {
  const problems: Problem[] = [];
  const report = (p: Problem) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  let prevHash = GENESIS_HASH;
  let expected = 1;
  let entries = 0;
  let lastSeq = 0;
  for await (const page of rows) {
    for (const row of page) {
      entries++;
      const seq = row[0];
      const hash = row[10];
      if (seq > expected) {
        report({
          kind: 'missing',
          at: expected,
          detail: `entries ${expected}${seq - 1 > expected ? `-${seq - 1}` : ''} are missing`,
        });
      }
      if (tupleHash(row) !== hash) {
        const movedFrom = [-3, -2, -1, 1, 2, 3].map((d) => seq + d).find((s) => tupleHash(row, s) === hash);
        report(
          movedFrom === undefined
            ? { kind: 'edited', at: seq, detail: `entry ${seq} was changed after it was written` }
            : { kind: 'reordered', at: seq, detail: `entry ${movedFrom} was moved to position ${seq}` },
        );
      } else if (row[9] !== prevHash && seq === expected) {
        report({ kind: 'relinked', at: seq, detail: `entry ${seq} does not follow entry ${seq - 1}` });
      }
      const cp = bySeq.get(seq);
      if (cp && cp.audit_hash !== hash) {
        report({
          kind: 'checkpoint-mismatch',
          at: seq,
          detail: `entry ${seq} differs from what signed checkpoint ${cp.id} vouched for; the chain was rewritten`,
        });
      }
      prevHash = hash;
      expected = seq + 1;
      lastSeq = seq;
    }
  }
  return { entries, lastSeq, problems };
}
