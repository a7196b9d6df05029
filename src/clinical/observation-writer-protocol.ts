/** Messages between the ingest writer (observation-writer.ts) and its thread. */
import type { AcceptedMessage, ChunkPolicy } from './observations.store.ts';

/** Data keys as fresh 32-byte arrays: cloning a pooled Buffer would copy its whole pool. */
export type KeyEntries = Array<readonly [patientId: string, key: Uint8Array]>;

export interface WriterStart {
  file: string;
  /** Most messages in one transaction when the thread gathers several queued batches. */
  maxMessages: number;
  busyTimeoutMs: number;
  /** Decimal places per code, as the main thread's code registry has them. */
  decimals: Array<readonly [code: string, decimals: number]>;
  policy: ChunkPolicy;
  /** Keys of the patients with staging rows, for rebuilding their open runs. */
  keys: KeyEntries;
  /** The store's WriteGate memory: the writer takes turns with the event loop's connection. */
  gate: SharedArrayBuffer | undefined;
}

export type WriterRequest =
  | { kind: 'commit'; id: number; batch: PackedBatch; keys: KeyEntries }
  | { kind: 'forget'; id: number; patientId: string }
  | { kind: 'seal'; id: number; idleBeforeMs?: number }
  /** The writer connection's PRAGMA data_version: moves on commits by any connection but its own. */
  | { kind: 'version'; id: number }
  | { kind: 'close'; id: number };

/** id 0 is the thread speaking on its own: "ready" at start, or a background sealing failure. */
export type WriterReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { name: string; message: string } }
  | CommitReply;

/** One transaction that carried the commit requests `ids` (every batch queued when it began). */
export type CommitReply =
  | { ids: number[]; ok: true; transaction: TransactionStats }
  | { ids: number[]; ok: false; error: { name: string; message: string } };

export interface TransactionStats {
  messages: number;
  /** Runs sealed into chunks in the same transaction. */
  seals: number;
  /** From BEGIN to the end of COMMIT (the fsync), on the writer's thread. */
  ms: number;
}

/**
 * A batch flattened for the hand-over to the writer thread. Structured clone pays per object
 * and per property, and a batch is mostly small reading objects: as typed arrays the readings
 * cross as a few copies. Measured (10 readings per message): 3.1 µs per message as objects,
 * 0.5 µs packed, in peak-sized batches; small batches are dominated by the post itself.
 */
export interface PackedBatch {
  devices: string[];
  hashes: string[];
  /** Per message: seq, receivedMs, number of parts. */
  messageNumbers: Float64Array;
  patients: string[];
  /** Per part: number of readings. */
  partSizes: Uint32Array;
  codeTable: string[];
  codeIndex: Uint16Array;
  values: Float64Array;
  tsMs: Float64Array;
}

export function packBatch(messages: readonly AcceptedMessage[]): PackedBatch {
  let partCount = 0;
  let readingCount = 0;
  for (const m of messages) {
    partCount += m.parts.length;
    for (const part of m.parts) readingCount += part.readings.length;
  }
  const packed: PackedBatch = {
    devices: new Array<string>(messages.length),
    hashes: new Array<string>(messages.length),
    messageNumbers: new Float64Array(messages.length * 3),
    patients: new Array<string>(partCount),
    partSizes: new Uint32Array(partCount),
    codeTable: [],
    codeIndex: new Uint16Array(readingCount),
    values: new Float64Array(readingCount),
    tsMs: new Float64Array(readingCount),
  };
  const codes = new Map<string, number>();
  let p = 0;
  let r = 0;
  messages.forEach((m, i) => {
    packed.devices[i] = m.deviceId;
    packed.hashes[i] = m.hash;
    packed.messageNumbers[i * 3] = m.seq;
    packed.messageNumbers[i * 3 + 1] = m.receivedMs;
    packed.messageNumbers[i * 3 + 2] = m.parts.length;
    for (const part of m.parts) {
      packed.patients[p] = part.patientId;
      packed.partSizes[p++] = part.readings.length;
      for (const reading of part.readings) {
        let code = codes.get(reading.code);
        if (code === undefined) {
          code = packed.codeTable.push(reading.code) - 1;
          codes.set(reading.code, code);
        }
        packed.codeIndex[r] = code;
        packed.values[r] = reading.value;
        packed.tsMs[r++] = reading.tsMs;
      }
    }
  });
  return packed;
}

export function unpackBatch(packed: PackedBatch): AcceptedMessage[] {
  const out: AcceptedMessage[] = [];
  let p = 0;
  let r = 0;
  for (let i = 0; i < packed.devices.length; i++) {
    const parts: AcceptedMessage['parts'] = [];
    const partCount = packed.messageNumbers[i * 3 + 2] ?? 0;
    for (let k = 0; k < partCount; k++, p++) {
      const readings = [];
      const size = packed.partSizes[p] ?? 0;
      for (let end = r + size; r < end; r++) {
        readings.push({
          code: packed.codeTable[packed.codeIndex[r] ?? 0] ?? '',
          value: packed.values[r] ?? 0,
          tsMs: packed.tsMs[r] ?? 0,
        });
      }
      parts.push({ patientId: packed.patients[p] ?? '', readings });
    }
    out.push({
      deviceId: packed.devices[i] ?? '',
      seq: packed.messageNumbers[i * 3] ?? 0,
      hash: packed.hashes[i] ?? '',
      receivedMs: packed.messageNumbers[i * 3 + 1] ?? 0,
      parts,
    });
  }
  return out;
}

/**
 * Full runs sealed per commit (at least). Sealing one costs a sort, an encode, a seal and a
 * range delete (~0.2 ms); a few per commit keep up with 100k readings/s without making any
 * commit, and the PUBACKs waiting on it, long.
 */
export const SEAL_SLICE = 4;

/**
 * Full runs to seal along with a commit: a slice, or an eighth of the backlog if more, but no
 * more than twice the runs the batch itself can fill (its readings / maxReadings), which still
 * drains any backlog. Devices that started together fill their runs together: measured with 200
 * devices in half-peak batches (30 messages), an eighth of such a wave put up to 17 seals (each a
 * range delete over ~25 table pages) into one commit, which then took several times as long as
 * its neighbours and held up every PUBACK waiting on it.
 */
export function sealSliceFor(due: number, batchReadings: number, maxReadings: number): number {
  return Math.max(SEAL_SLICE, Math.min(Math.ceil(due / 8), Math.ceil((2 * batchReadings) / maxReadings)));
}
