import { Worker } from 'node:worker_threads';
import type { WriteGate } from '../store/write-gate.ts';
import {
  type CommitReply,
  type KeyEntries,
  packBatch,
  type TransactionStats,
  type WriterReply,
  type WriterRequest,
  type WriterStart,
} from './observation-writer-protocol.ts';
import {
  type AcceptedMessage,
  type ChunkPolicy,
  DEFAULT_CHUNK_POLICY,
  type PatientKeyLookup,
} from './observations.store.ts';

export interface ObservationWriterOptions {
  /** The SQLite database file (WAL mode); the writer opens its own connection to it. */
  file: string;
  /** Decimal places per code (the code registry's), for encoding values. */
  decimals: ReadonlyArray<readonly [code: string, decimals: number]>;
  /** Data keys of patients with staging rows: the writer rebuilds their open runs at start. */
  stagedKeys: ReadonlyMap<string, Buffer>;
  policy?: ChunkPolicy;
  /** The main connection's gate (Store.writeGate), so the two connections never queue in SQLite. */
  gate?: WriteGate | undefined;
  busyTimeoutMs?: number;
  /** Most messages in one transaction when the thread gathers several queued batches (default 2000). */
  maxMessagesPerTransaction?: number;
  /** A background chunk sealing failed (the readings stay readable as staging rows). */
  onError?: (message: string) => void;
  /** Each ingest transaction the thread committed (metrics). */
  onTransaction?: (stats: TransactionStats) => void;
}

/** A request before it is numbered (Omit distributed over the union). */
type Request<R = WriterRequest> = R extends WriterRequest ? Omit<R, 'id'> : never;

/**
 * Writes readings on a thread of its own (observation-writer.worker.ts), through the same
 * SqliteObservationStore as before and with the same transactions, so that encoding, AES-GCM,
 * inserts, chunk sealing and the fsync of each group commit run beside the event loop instead
 * of inside it; the main thread only hands over each batch and waits for "committed" before it
 * sends the PUBACKs. Measured (bench, DESIGN.md): the commits held the event loop for about
 * 40% of the time at half peak, and a burst of chunks filling together stalled it for 20 ms.
 *
 * Security: the thread gets a copy of each patient's data key with the first batch that needs
 * it; forgetPatient (erasure) wipes that copy and deletes the patient's staging rows there.
 */
export class ObservationWriter {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  /** Patients whose key the thread already holds. */
  private readonly keyed = new Set<string>();
  private failure: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly onTransaction: ((stats: TransactionStats) => void) | undefined,
  ) {}

  static start(opts: ObservationWriterOptions): Promise<ObservationWriter> {
    const keys: KeyEntries = [...opts.stagedKeys].map(([id, key]) => [id, new Uint8Array(key)] as const);
    const start: WriterStart = {
      file: opts.file,
      maxMessages: opts.maxMessagesPerTransaction ?? 2000,
      busyTimeoutMs: opts.busyTimeoutMs ?? 5000,
      decimals: [...opts.decimals],
      policy: opts.policy ?? DEFAULT_CHUNK_POLICY,
      keys,
      gate: opts.gate?.shared,
    };
    const worker = spawnWriterThread(start);
    const writer = new ObservationWriter(worker, opts.onTransaction);
    for (const id of opts.stagedKeys.keys()) writer.keyed.add(id);
    return new Promise((resolve, reject) => {
      const fail = (e: Error) => reject(new Error(`the ingest writer thread did not start: ${e.message}`));
      worker.once('error', fail);
      worker.once('exit', (code) => fail(new Error(`it exited with ${code}`)));
      worker.on('message', (reply: WriterReply) => {
        if ('ids' in reply) return writer.settleCommits(reply);
        if (reply.id !== 0) return writer.settle(reply);
        if (reply.ok && reply.value === 'ready') {
          worker.off('error', fail);
          worker.removeAllListeners('exit');
          writer.watch(opts.onError);
          resolve(writer);
        } else if (!reply.ok) {
          opts.onError?.(`background chunk sealing failed: ${reply.error.name}: ${reply.error.message}`);
        }
      });
    });
  }

  /** False once the thread failed or was closed: ingest cannot commit (/healthz says so). */
  get alive(): boolean {
    return this.failure === undefined;
  }

  /**
   * Hands a batch to the writer's thread; resolves once the transaction carrying it is on disk.
   * Batches handed over while the thread is busy share its next transaction.
   */
  commitBatch(messages: AcceptedMessage[], keyOf: PatientKeyLookup): Promise<void> {
    const keys: KeyEntries = [];
    try {
      for (const m of messages) {
        for (const part of m.parts) {
          const id = part.patientId;
          // Looked up every time: a key destroyed (erasure) fails the batch here, as it did in-thread.
          const key = keyOf(id);
          if (this.keyed.has(id) || keys.some(([k]) => k === id)) continue;
          keys.push([id, new Uint8Array(key)]);
        }
      }
    } catch (e) {
      for (const [, key] of keys) key.fill(0);
      return Promise.reject(e);
    }
    for (const [id] of keys) this.keyed.add(id);
    const committed = this.request({ kind: 'commit', batch: packBatch(messages), keys });
    // postMessage has cloned the copies for the thread (or nothing was sent): this thread's go
    // now rather than whenever the collector frees them.
    for (const [, key] of keys) key.fill(0);
    return committed.then(() => undefined);
  }

  /** Erasure: drops the patient's unsealed readings, staging rows and key copy on the thread. */
  forgetPatient(patientId: string): Promise<void> {
    this.keyed.delete(patientId);
    return this.request({ kind: 'forget', patientId }).then(() => undefined);
  }

  /** Seals open runs idle since before `idleBeforeMs` (all when omitted); returns how many. */
  sealOpenChunks(idleBeforeMs?: number): Promise<number> {
    return this.request(idleBeforeMs === undefined ? { kind: 'seal' } : { kind: 'seal', idleBeforeMs }).then(
      (n) => n as number,
    );
  }

  /**
   * SQLite's data_version as the writer's own connection sees it: it changes when another
   * connection (the event loop's, the CLI) commits, and not on this thread's ingest commits, so
   * a poll for outside changes does not wake on every batch of readings.
   */
  dataVersion(): Promise<number> {
    return this.request({ kind: 'version' }).then((v) => v as number);
  }

  /** Seals every open run, closes the thread's connection and ends the thread. */
  async close(): Promise<void> {
    if (this.failure) return;
    await this.request({ kind: 'close' });
    this.failure = new Error('the ingest writer is closed');
    await this.worker.terminate();
  }

  private request(body: Request): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...body, id } as WriterRequest);
    });
  }

  private settle(reply: Exclude<WriterReply, CommitReply>): void {
    if (reply.ok) this.answer(reply.id, reply.value);
    else this.answer(reply.id, undefined, reply.error);
  }

  private settleCommits(reply: CommitReply): void {
    if (reply.ok) this.onTransaction?.(reply.transaction);
    for (const id of reply.ids) this.answer(id, undefined, reply.ok ? undefined : reply.error);
  }

  private answer(id: number, value: unknown, error?: { name: string; message: string }): void {
    const waiter = this.pending.get(id);
    if (!waiter) return;
    this.pending.delete(id);
    // Idle, the thread must not keep the process alive (as with the WAL checkpointer).
    if (this.pending.size === 0) this.worker.unref();
    if (error) waiter.reject(Object.assign(new Error(error.message), { name: error.name }));
    else waiter.resolve(value);
  }

  private watch(onError: ((message: string) => void) | undefined): void {
    const broken = (e: Error) => {
      if (this.failure) return;
      this.failure = e;
      onError?.(e.message);
      for (const waiter of this.pending.values()) waiter.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', (e) => broken(new Error(`the ingest writer thread failed: ${e.message}`)));
    this.worker.on('exit', (code) => broken(new Error(`the ingest writer thread exited with ${code}`)));
    this.worker.unref();
  }
}

/**
 * Built (dist/), the thread runs the compiled .js. From source, tsx's loader hooks do not reach
 * worker threads on Node 20 (`--import tsx` is not applied there), so the thread registers tsx
 * itself before importing the .ts entry.
 */
function spawnWriterThread(start: WriterStart): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./observation-writer.worker.js', import.meta.url), { workerData: start });
  }
  const entry = new URL('./observation-writer.worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { eval: true, workerData: start });
}
