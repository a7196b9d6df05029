/**
 * The ingest writer's thread (see observation-writer.ts): it owns a second SQLite connection
 * to the same WAL database and the open runs of readings, and runs every reading write there,
 * so the encoding, AES-GCM, inserts and the fsync of each group commit never stop the event
 * loop that serves TLS and MQTT. Requests are handled in arrival order, which is the order the
 * main thread sent them in: a forget sent after a commit runs after it. Commit requests queued
 * one after the other share one transaction: the main thread hands batches over while earlier
 * ones are committing, and each transaction takes everything waiting when it begins.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { SECURE_DELETE_PRAGMA } from '../store/secure-delete.ts';
import { WriteGate } from '../store/write-gate.ts';
import {
  type CommitReply,
  SEAL_SLICE,
  sealSliceFor,
  unpackBatch,
  type WriterReply,
  type WriterRequest,
  type WriterStart,
} from './observation-writer-protocol.ts';
import { type AcceptedMessage, type ChunkPolicy, SqliteObservationStore } from './observations.store.ts';

const IDLE_SEAL_MS = 20;

const start = workerData as WriterStart;
const port =
  parentPort ??
  (() => {
    throw new Error('observation-writer.worker.ts runs only as a worker thread');
  })();

const keys = new Map<string, Buffer>();
const learnKeys = (entries: ReadonlyArray<readonly [string, Uint8Array]>) => {
  for (const [patientId, bytes] of entries) {
    if (!keys.has(patientId))
      keys.set(patientId, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
};
learnKeys(start.keys);

const db = new BetterSqlite3(start.file);
db.pragma('journal_mode = WAL');
// FULL: the commit is on disk before the main thread is told, and only then sends the PUBACK.
db.pragma('synchronous = FULL');
db.pragma('foreign_keys = ON');
db.pragma(`busy_timeout = ${start.busyTimeoutMs}`);
// Erasure must not leave a wrapped data key in free space (see secure-delete.ts).
db.pragma(SECURE_DELETE_PRAGMA);
// The WAL checkpointer thread checkpoints; a checkpoint inside a commit would stall its PUBACKs.
db.pragma('wal_autocheckpoint = 0');

const gate = start.gate ? new WriteGate(start.gate) : undefined;
/**
 * Every write runs holding the gate (when the main connection has one). The wait is long: the
 * event loop holds the gate only for a Kysely query or transaction, and giving up early would
 * only meet SQLite's lock instead, fail the batch and disconnect every device in it.
 */
const GATE_WAIT_MS = 60_000;
const writing = <T>(work: () => T): T => (gate ? gate.withBlocking(GATE_WAIT_MS, work) : work());

const decimals = new Map(start.decimals);
const policy: ChunkPolicy = { ...start.policy, deferSealing: true };
const store = new SqliteObservationStore(
  db,
  (code) => decimals.get(code) ?? 3,
  (patientId) => {
    const key = keys.get(patientId);
    if (!key) throw new Error(`data key of patient ${patientId} is not loaded in the writer`);
    return key;
  },
  policy,
);
store.reloadOpenChunks();

/** Full runs to seal along with a commit of `batchReadings` readings (see sealSliceFor). */
const sealSlice = (batchReadings = Number.POSITIVE_INFINITY) =>
  sealSliceFor(store.dueChunks, batchReadings, policy.maxReadings);

let idleTimer: NodeJS.Timeout | undefined;
/**
 * Under load, full runs are sealed a slice at a time inside the following commits (sharing their
 * fsync). When commits stop coming for IDLE_SEAL_MS, the rest are sealed on their own.
 */
function sealWhenIdle(): void {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
  if (store.dueChunks === 0) return;
  idleTimer = setTimeout(() => {
    idleTimer = undefined;
    try {
      writing(() => store.sealDue(sealSlice()));
    } catch (e) {
      // The runs stay as staging rows (still readable); a later commit touching them retries.
      port.postMessage({ id: 0, ok: false, error: describe(e) } satisfies WriterReply);
      return;
    }
    sealWhenIdle();
  }, IDLE_SEAL_MS);
}

type CommitRequest = Extract<WriterRequest, { kind: 'commit' }>;

/** Commits the batches of several requests in one transaction (one fsync) and answers them all. */
function commitTogether(requests: CommitRequest[]): void {
  const ids = requests.map((r) => r.id);
  let reply: CommitReply;
  try {
    const messages: AcceptedMessage[] = [];
    let readings = 0;
    for (const r of requests) {
      learnKeys(r.keys);
      for (const m of unpackBatch(r.batch)) messages.push(m);
      readings += r.batch.values.length;
    }
    const seals = Math.min(store.dueChunks, sealSlice(readings));
    const ms = writing(() => {
      const began = performance.now();
      store.commitBatch(messages, seals);
      return performance.now() - began;
    });
    reply = { ids, ok: true, transaction: { messages: messages.length, seals, ms } };
  } catch (e) {
    reply = { ids, ok: false, error: describe(e) };
  }
  port.postMessage(reply satisfies WriterReply);
}

function handle(request: Exclude<WriterRequest, CommitRequest>): unknown {
  switch (request.kind) {
    case 'forget': {
      writing(() => store.forgetPatient(request.patientId));
      // Crypto-shredding reaches this thread too: no copy of the destroyed key stays here.
      keys.get(request.patientId)?.fill(0);
      keys.delete(request.patientId);
      return undefined;
    }
    case 'version':
      return db.pragma('data_version', { simple: true });
    case 'seal':
      return writing(() => store.sealOpenChunks(request.idleBeforeMs ?? Number.POSITIVE_INFINITY));
    case 'close': {
      if (idleTimer) clearTimeout(idleTimer);
      while (writing(() => store.sealDue(SEAL_SLICE)) > 0);
      const sealed = writing(() => store.sealOpenChunks());
      db.close();
      for (const key of keys.values()) key.fill(0);
      keys.clear();
      return sealed;
    }
  }
}

function describe(e: unknown): { name: string; message: string } {
  return e instanceof Error ? { name: e.name, message: e.message } : { name: 'Error', message: String(e) };
}

const inbox: WriterRequest[] = [];
/** Moves every request already queued on the port into the inbox, without waiting. */
const pull = () => {
  for (let next = receiveMessageOnPort(port); next; next = receiveMessageOnPort(port)) {
    inbox.push(next.message as WriterRequest);
  }
};

/** The longest run of commit requests at the head of the inbox that fits one transaction. */
function takeCommits(): CommitRequest[] {
  const taken: CommitRequest[] = [];
  let messages = 0;
  for (let head = inbox[0]; head?.kind === 'commit'; head = inbox[0]) {
    const size = head.batch.devices.length;
    if (taken.length > 0 && messages + size > start.maxMessages) break;
    taken.push(head);
    messages += size;
    inbox.shift();
  }
  return taken;
}

port.on('message', (first: WriterRequest) => {
  inbox.push(first);
  pull();
  while (inbox.length > 0) {
    const commits = takeCommits();
    if (commits.length > 0) {
      commitTogether(commits);
    } else {
      const request = inbox.shift() as Exclude<WriterRequest, CommitRequest>;
      let reply: WriterReply;
      try {
        reply = { id: request.id, ok: true, value: handle(request) };
      } catch (e) {
        reply = { id: request.id, ok: false, error: describe(e) };
      }
      port.postMessage(reply);
    }
    // What arrived meanwhile goes into the next transaction at once, not after a turn of this loop.
    pull();
  }
  sealWhenIdle();
});
port.postMessage({ id: 0, ok: true, value: 'ready' } satisfies WriterReply);
