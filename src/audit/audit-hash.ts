import { hash } from 'node:crypto';
import type { Schema } from '../store/schema.ts';

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
  // One-shot hash: half the cost of createHash().update().digest() per entry, same digest.
  return hash('sha256', canonical, 'hex');
}

/** An entry as stored, in hash order, with its own hash last: the fast form for verification. */
export type AuditTuple = [
  seq: number,
  ts: number,
  actor: string,
  action: string,
  patientId: string | null,
  resource: string,
  purpose: string | null,
  outcome: string,
  source: string | null,
  prevHash: string,
  hash: string,
];

/** The same hash as entryHash, from the tuple form (optionally as if it stood at another seq). */
export function tupleHash(t: AuditTuple, seq = t[0]): string {
  const canonical = JSON.stringify([seq, t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9]]);
  return hash('sha256', canonical, 'hex');
}

export const TUPLE_COLUMNS =
  'seq, ts, actor, action, patient_id, resource, purpose, outcome, source, prev_hash, hash';
