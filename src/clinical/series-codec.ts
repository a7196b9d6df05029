/**
 * A columnar reader of the readings blob written by readings-codec.ts (same layout: version |
 * codeCount | (codeLen code decimals)* | count | baseTs | (codeIdx dTs dValue)*). The chart
 * query decodes hundreds of thousands of readings; one object per reading costs more in
 * allocation and GC than the decryption itself, so this fills typed arrays instead.
 * readings-codec.ts stays the writer and the reference: series-codec.test.ts checks that both
 * decode every blob alike.
 */
export interface ReadingColumns {
  codes: string[];
  /** Index into codes, per reading. */
  code: Uint16Array;
  ts: Float64Array;
  value: Float64Array;
  length: number;
}

const VERSION = 1;

interface Header {
  codes: string[];
  scales: number[];
  count: number;
  baseTs: number;
  /** Where the readings start. */
  pos: number;
}

function parseHeader(blob: Uint8Array): Header {
  let pos = 0;
  const byte = (): number => {
    const b = blob[pos++];
    if (b === undefined) throw new RangeError('readings blob is truncated');
    return b;
  };
  const uvar = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = byte();
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new RangeError('varint too long');
    }
  };
  const version = byte();
  if (version !== VERSION) throw new RangeError(`unknown readings blob version ${version}`);
  const codeCount = uvar();
  if (codeCount > 0xffff) throw new RangeError('too many codes in readings blob');
  const codes: string[] = [];
  const scales: number[] = [];
  const decoder = new TextDecoder();
  for (let i = 0; i < codeCount; i++) {
    const len = uvar();
    if (pos + len > blob.length) throw new RangeError('readings blob is truncated');
    codes.push(decoder.decode(blob.subarray(pos, pos + len)));
    pos += len;
    scales.push(10 ** byte());
  }
  const count = uvar();
  // Each reading takes at least 3 bytes; a larger count is a corrupt blob, not an allocation.
  if (count * 3 > blob.length) throw new RangeError('readings blob count exceeds its size');
  const baseTs = uvar();
  return { codes, scales, count, baseTs, pos };
}

export function decodeColumns(blob: Uint8Array): ReadingColumns {
  const { codes, scales, count, baseTs, pos } = parseHeader(blob);
  const codeCount = codes.length;
  let ts = baseTs;
  const prev = new Float64Array(codeCount);
  const out: ReadingColumns = {
    codes,
    code: new Uint16Array(count),
    ts: new Float64Array(count),
    value: new Float64Array(count),
    length: count,
  };
  // The hot loop reads varints inline: a closure over a mutable position costs several times more.
  const { code, ts: tsOut, value } = out;
  const end = blob.length;
  let p = pos;
  for (let i = 0; i < count; i++) {
    let ci = 0;
    let scale = 1;
    let b = 0;
    do {
      if (p >= end) throw new RangeError('readings blob is truncated');
      b = blob[p++]!;
      ci += (b & 0x7f) * scale;
      scale *= 0x80;
    } while (b >= 0x80 && scale <= 2 ** 56);
    if (b >= 0x80) throw new RangeError('varint too long');
    let dt = 0;
    scale = 1;
    do {
      if (p >= end) throw new RangeError('readings blob is truncated');
      b = blob[p++]!;
      dt += (b & 0x7f) * scale;
      scale *= 0x80;
    } while (b >= 0x80 && scale <= 2 ** 56);
    if (b >= 0x80) throw new RangeError('varint too long');
    let dv = 0;
    scale = 1;
    do {
      if (p >= end) throw new RangeError('readings blob is truncated');
      b = blob[p++]!;
      dv += (b & 0x7f) * scale;
      scale *= 0x80;
    } while (b >= 0x80 && scale <= 2 ** 56);
    if (b >= 0x80) throw new RangeError('varint too long');
    if (ci >= codeCount) throw new RangeError('readings blob names an unknown code');
    ts += dt % 2 === 0 ? dt / 2 : -(dt + 1) / 2;
    const scaled = prev[ci]! + (dv % 2 === 0 ? dv / 2 : -(dv + 1) / 2);
    prev[ci] = scaled;
    code[i] = ci;
    tsOut[i] = ts;
    value[i] = scaled / scales[ci]!;
  }
  return out;
}

/** A growing time-ordered series of one code, filled by appendReadings. */
export interface SeriesSink {
  t: Float64Array;
  v: Float64Array;
  /**
   * Per reading, the index of its block's device (appendReadings' `device`); kept only when
   * asked for, as the chart path otherwise never needs it.
   */
  d?: Uint32Array;
  n: number;
  /** False once a reading arrived earlier than the one before it (overlapping blocks). */
  ordered: boolean;
}

export function newSink(capacity: number, withDevices = false): SeriesSink {
  const size = Math.max(16, capacity);
  const sink: SeriesSink = { t: new Float64Array(size), v: new Float64Array(size), n: 0, ordered: true };
  if (withDevices) sink.d = new Uint32Array(size);
  return sink;
}

function grow(sink: SeriesSink): void {
  const t = new Float64Array(sink.t.length * 2);
  const v = new Float64Array(sink.v.length * 2);
  t.set(sink.t);
  v.set(sink.v);
  sink.t = t;
  sink.v = v;
  if (sink.d) {
    const d = new Uint32Array(sink.d.length * 2);
    d.set(sink.d);
    sink.d = d;
  }
}

/**
 * Decodes a readings blob into per-code sinks, keeping readings in [fromMs, toMs]. A block of
 * one code in time order (what a chunk of a single-code device is) is copied in two bulk
 * copies; anything else goes reading by reading.
 */
export function appendReadings(
  blob: Uint8Array,
  fromMs: number,
  toMs: number,
  sinkOf: (code: string) => SeriesSink | undefined,
  device = 0,
): void {
  const cols = decodeColumns(blob);
  const { ts, value, code, length } = cols;
  if (length === 0) return;
  const sinks = cols.codes.map(sinkOf);
  const only = sinks.length === 1 ? sinks[0] : undefined;
  if (only && isSorted(ts, length)) {
    const lo = firstAtOrAfter(ts, length, fromMs);
    const hi = firstAtOrAfter(ts, length, toMs + 1);
    if (hi > lo) {
      ensureRoom(only, hi - lo);
      if (only.n > 0 && only.t[only.n - 1]! > ts[lo]!) only.ordered = false;
      only.t.set(ts.subarray(lo, hi), only.n);
      only.v.set(value.subarray(lo, hi), only.n);
      only.d?.fill(device, only.n, only.n + hi - lo);
      only.n += hi - lo;
    }
    return;
  }
  for (const sink of sinks) if (sink) ensureRoom(sink, length);
  for (let i = 0; i < length; i++) {
    const t = ts[i]!;
    const sink = sinks[code[i]!];
    if (sink === undefined || t < fromMs || t > toMs) continue;
    if (sink.n > 0 && sink.t[sink.n - 1]! > t) sink.ordered = false;
    sink.t[sink.n] = t;
    sink.v[sink.n] = value[i]!;
    if (sink.d) sink.d[sink.n] = device;
    sink.n++;
  }
}

function isSorted(ts: Float64Array, length: number): boolean {
  for (let i = 1; i < length; i++) if (ts[i]! < ts[i - 1]!) return false;
  return true;
}

/** The first index whose time is at or after ms, in a sorted column. */
function firstAtOrAfter(ts: Float64Array, length: number, ms: number): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! < ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function ensureRoom(sink: SeriesSink, more: number): void {
  while (sink.t.length < sink.n + more) grow(sink);
}
