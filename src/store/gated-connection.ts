import { CompiledQuery, type DatabaseConnection, type QueryResult, SelectQueryNode } from 'kysely';
import type { WriteGate } from './write-gate.ts';

/**
 * The event loop's SQLite connection, taking the WriteGate only to write: for a transaction
 * (BEGIN IMMEDIATE to COMMIT/ROLLBACK) and for a single statement that is not a SELECT.
 *
 * In WAL mode a read never takes SQLite's write lock, so it cannot collide with the ingest
 * writer's thread. Gating reads too cost the writer dearly: it was committing ~75% of the time
 * at half peak, so nearly every read found the gate taken and raised WANTED, and the writer then
 * stood aside until the busy event loop got round to taking its turn (the whole event-loop
 * delay, many ms). The 1 s poll's handful of reads (device directory, key erasures, master-key
 * check) stalled the commits, and every PUBACK waiting on them, once a second.
 *
 * Only Kysely SELECT nodes count as reads; raw SQL (pragmas, `sql` templates) is gated, as before.
 */
export class GatedConnection implements DatabaseConnection {
  private held = false;

  constructor(
    readonly inner: DatabaseConnection,
    private readonly gate: WriteGate,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.held || SelectQueryNode.is(query.query)) return this.inner.executeQuery<R>(query);
    await this.gate.acquire();
    try {
      return await this.inner.executeQuery<R>(query);
    } finally {
      this.gate.release();
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    // The SQLite driver streams SELECTs only.
    return this.inner.streamQuery<R>(query, chunkSize);
  }

  /** BEGIN IMMEDIATE holding the gate until commit() or rollback(). */
  async begin(): Promise<void> {
    await this.gate.acquire();
    this.held = true;
    try {
      await this.inner.executeQuery(CompiledQuery.raw('begin immediate'));
    } catch (e) {
      this.release();
      throw e;
    }
  }

  async commit(): Promise<void> {
    // A failed COMMIT leaves the transaction open; Kysely rolls back next, which releases.
    await this.inner.executeQuery(CompiledQuery.raw('commit'));
    this.release();
  }

  async rollback(): Promise<void> {
    try {
      await this.inner.executeQuery(CompiledQuery.raw('rollback'));
    } finally {
      this.release();
    }
  }

  /** Idempotent: also called when the connection goes back, in case a transaction was left open. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    this.gate.release();
  }
}
