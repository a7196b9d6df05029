import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Schema } from '../store/schema.ts';

export interface AuditInput {
  actor: string;
  action: string;
  resource: string;
  outcome: 'success' | 'denied' | 'failure';
  patientId?: string | undefined;
  purpose?: string | undefined;
  source?: string | undefined;
}

export const GENESIS_HASH = '0'.repeat(64);

/** The hash of an entry covers every field and the previous hash, so any edit breaks the chain. */
export function entryHash(e: Omit<Schema['audit_log'], 'hash'>): string {
  const canonical = JSON.stringify([
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
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * Append-only, hash-chained audit trail. Signed checkpoints, verification API, AuditEvent
 * export and syslog streaming follow in issue #4; the chain is laid down from the start so no
 * entry written now is ever unverifiable.
 */
export class AuditLog {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly db: Kysely<Schema>) {}

  /** Appends are serialized: each entry needs the hash of the one before it. */
  append(input: AuditInput, nowMs = Date.now()): Promise<void> {
    const next = this.tail.then(() => this.write(input, nowMs));
    this.tail = next.catch(() => {});
    return next;
  }

  private async write(input: AuditInput, nowMs: number): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
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
      await tx
        .insertInto('audit_log')
        .values({ ...entry, hash: entryHash(entry) })
        .execute();
    });
  }

  /** Walks the chain; returns the first broken seq, or undefined when intact. */
  async verify(): Promise<{ entries: number; brokenAt: number | undefined }> {
    const rows = await this.db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
    let prev = GENESIS_HASH;
    let expectedSeq = 1;
    for (const row of rows) {
      const { hash, ...rest } = row;
      if (row.seq !== expectedSeq || row.prev_hash !== prev || entryHash(rest) !== hash)
        return { entries: rows.length, brokenAt: row.seq };
      prev = hash;
      expectedSeq++;
    }
    return { entries: rows.length, brokenAt: undefined };
  }
}
