import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Schema } from '../store/schema.ts';
import { type AuditTuple, entryHash, GENESIS_HASH, TUPLE_COLUMNS } from './audit-hash.ts';

import type { AuditSigner, SignatureCheck } from './audit-signer.ts';
import {
  type AuditAnchor,
  type AuditRow,
  type CheckpointRow,
  type VerifyReport,
  verifyAudit,
} from './audit-verify.ts';
import { canWalkInParallel, type ParallelOptions, walkInParallel } from './audit-verify-parallel.ts';

export { entryHash, GENESIS_HASH };

export interface AuditQuery {
  limit: number;
  beforeSeq?: number | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  patientId?: string | undefined;
  fromMs?: number | undefined;
  toMs?: number | undefined;
}

export type CheckpointOutcome =
  | { kind: 'signed'; row: CheckpointRow }
  | { kind: 'unchanged' }
  /** The anchor or the chain shows tampering; nothing was signed. */
  | { kind: 'refused'; detail: string };

export interface AuditInput {
  actor: string;
  action: string;
  resource: string;
  outcome: 'success' | 'denied' | 'failure';
  patientId?: string | undefined;
  purpose?: string | undefined;
  source?: string | undefined;
}

/**
 * Append-only, hash-chained audit trail with Ed25519-signed checkpoints of its head. The chain
 * finds an edited or removed entry; the signatures find a chain rewritten from some point on
 * with fresh hashes, and a cut-off tail.
 */
export class AuditLog {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly listeners: Array<(entry: AuditRow) => void> = [];

  /** `sqlite`: the raw handle of the same database, for the fast verification path. */
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly sqlite?: BetterSqlite3.Database,
  ) {}

  /** Appends are serialized: each entry needs the hash of the one before it. */
  append(input: AuditInput, nowMs = Date.now()): Promise<void> {
    const next = this.tail.then(() => this.write(input, nowMs));
    this.tail = next.catch(() => {});
    return next;
  }

  /** Called with each entry once it is committed (syslog streaming, live views). */
  onAppended(listener: (entry: AuditRow) => void): void {
    this.listeners.push(listener);
  }

  private async write(input: AuditInput, nowMs: number): Promise<void> {
    const row = await this.db.transaction().execute(async (tx) => {
      const last = await tx
        .selectFrom('audit_log')
        .select(['seq', 'hash'])
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      const entry = {
        seq: (last?.seq ?? 0) + 1,
        ts: nowMs,
        actor: input.actor,
        action: input.action,
        patient_id: input.patientId ?? null,
        resource: input.resource,
        purpose: input.purpose ?? null,
        outcome: input.outcome,
        source: input.source ?? null,
        prev_hash: last?.hash ?? GENESIS_HASH,
      };
      const full = { ...entry, hash: entryHash(entry) };
      await tx.insertInto('audit_log').values(full).execute();
      return full;
    });
    for (const listener of this.listeners) listener(row);
  }

  /**
   * Checks the whole trail: the hash chain, and the signed checkpoints when a signature check is
   * given. Reads in pages so a million entries need no more memory than a few thousand.
   */
  async verify(
    opts: {
      check?: SignatureCheck;
      anchor?: AuditAnchor | undefined;
      pageSize?: number;
      parallel?: ParallelOptions;
    } = {},
  ): Promise<VerifyReport> {
    const db = this.db;
    const sqlite = this.sqlite;
    const pageSize = opts.pageSize ?? 20_000;
    // SQLite: one raw cursor in hash order; no row objects are built for a million entries.
    function* sqlitePages(handle: BetterSqlite3.Database): Generator<AuditTuple[]> {
      const cursor = handle.prepare(`SELECT ${TUPLE_COLUMNS} FROM audit_log ORDER BY seq`).raw(true);
      let page: AuditTuple[] = [];
      for (const row of cursor.iterate()) {
        page.push(row as AuditTuple);
        if (page.length === pageSize) {
          yield page;
          page = [];
        }
      }
      if (page.length > 0) yield page;
    }
    async function* kyselyPages(): AsyncGenerator<AuditTuple[]> {
      let after = 0;
      for (;;) {
        const page = await db
          .selectFrom('audit_log')
          .selectAll()
          .where('seq', '>', after)
          .orderBy('seq')
          .limit(pageSize)
          .execute();
        if (page.length === 0) return;
        yield page.map((r) => [
          r.seq,
          r.ts,
          r.actor,
          r.action,
          r.patient_id,
          r.resource,
          r.purpose,
          r.outcome,
          r.source,
          r.prev_hash,
          r.hash,
        ]);
        after = page[page.length - 1]?.seq ?? after;
      }
    }
    const checkpoints = await db.selectFrom('audit_checkpoints').selectAll().orderBy('id').execute();
    // A large SQLite trail in a file is walked by worker threads, one seq range each.
    const plan = sqlite ? canWalkInParallel(sqlite, opts.parallel ?? {}) : undefined;
    const source =
      sqlite && plan
        ? (cps: CheckpointRow[], max: number) => walkInParallel(sqlite, plan, cps, max)
        : sqlite
          ? sqlitePages(sqlite)
          : kyselyPages();
    return verifyAudit(source, checkpoints, opts.check, opts.anchor);
  }

  /** Signs the current head, unless the newest checkpoint already covers it. */
  async checkpoint(signer: AuditSigner, nowMs = Date.now()): Promise<CheckpointRow | undefined> {
    const outcome = await this.checkpointAfter(signer, undefined, nowMs);
    return outcome.kind === 'signed' ? outcome.row : undefined;
  }

  /**
   * Signs the current head only if the database still holds the anchor's checkpoint and the
   * head chains from it. Without that check, a tail cut together with the checkpoints over it
   * would be signed over afresh under the deleted ids, and the new anchor would hide the cut.
   */
  async checkpointAfter(
    signer: AuditSigner,
    anchor: AuditAnchor | undefined,
    nowMs = Date.now(),
  ): Promise<CheckpointOutcome> {
    const run = this.tail.then(async (): Promise<CheckpointOutcome> => {
      const head = await this.db
        .selectFrom('audit_log')
        .select(['seq', 'hash'])
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      const last = await this.db
        .selectFrom('audit_checkpoints')
        .selectAll()
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (anchor) {
        const problem = await this.anchorProblem(anchor, last);
        if (problem) return { kind: 'refused', detail: problem };
      }
      if (!head || (last && last.audit_seq >= head.seq)) return { kind: 'unchanged' };
      if (last) {
        const signed = await this.db
          .selectFrom('audit_log')
          .select('hash')
          .where('seq', '=', last.audit_seq)
          .executeTakeFirst();
        if (signed?.hash !== last.audit_hash)
          return {
            kind: 'refused',
            detail: `audit entry ${last.audit_seq} no longer carries the hash checkpoint ${last.id} signed; the chain was rewritten`,
          };
      }
      const row = signer.sign({
        id: (last?.id ?? 0) + 1,
        audit_seq: head.seq,
        audit_hash: head.hash,
        ts: nowMs,
        prev_signature: last?.signature ?? '',
      });
      await this.db.insertInto('audit_checkpoints').values(row).execute();
      return { kind: 'signed', row };
    });
    this.tail = run.catch(() => {});
    return run;
  }

  /** Why the checkpoints from the anchor's to the newest no longer form an unbroken chain. */
  private async anchorProblem(
    anchor: AuditAnchor,
    last: CheckpointRow | undefined,
  ): Promise<string | undefined> {
    if (!last || last.id < anchor.id)
      return `the audit anchor names checkpoint ${anchor.id}, but the database ${last ? `ends at checkpoint ${last.id}` : 'has none'}: checkpoints (and perhaps the entries they signed) were deleted`;
    const since = await this.db
      .selectFrom('audit_checkpoints')
      .selectAll()
      .where('id', '>=', anchor.id)
      .orderBy('id')
      .execute();
    const first = since[0];
    if (
      first?.id !== anchor.id ||
      first.signature !== anchor.signature ||
      first.audit_seq !== anchor.auditSeq
    )
      return `checkpoint ${anchor.id} in the database is not the one the audit anchor names: it was replaced`;
    for (let i = 1; i < since.length; i++) {
      const [prev, c] = [since[i - 1] as CheckpointRow, since[i] as CheckpointRow];
      if (c.id !== prev.id + 1 || c.prev_signature !== prev.signature)
        return `checkpoint ${c.id} does not follow checkpoint ${prev.id} of the anchored chain`;
    }
    return undefined;
  }

  /** Newest first, with a seq cursor for paging. */
  async search(q: AuditQuery): Promise<AuditRow[]> {
    let query = this.db.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(q.limit);
    if (q.beforeSeq !== undefined) query = query.where('seq', '<', q.beforeSeq);
    if (q.actor !== undefined) query = query.where('actor', '=', q.actor);
    if (q.action !== undefined) query = query.where('action', '=', q.action);
    if (q.patientId !== undefined) query = query.where('patient_id', '=', q.patientId);
    if (q.fromMs !== undefined) query = query.where('ts', '>=', q.fromMs);
    if (q.toMs !== undefined) query = query.where('ts', '<=', q.toMs);
    return query.execute();
  }
}
