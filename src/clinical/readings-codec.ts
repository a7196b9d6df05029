/**
 * Compact binary form of a run of readings, the way time-series stores keep them: codes
 * listed once, timestamps as zigzag varint deltas, values as scaled integers delta-encoded per
 * code. A 1 Hz heart-rate series costs about 2-3 bytes a reading instead of ~40 in JSON.
 *
 * Layout: version | codeCount | (codeLen code decimals)* | count | baseTs | (codeIdx dTs dValue)*
 */
export interface Reading {
  code: string;
  value: number;
  tsMs: number;
}

const VERSION = 1;

class Writer {
  buf = Buffer.allocUnsafe(256);
  pos = 0;
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }
  /** Unsigned varint for values up to 2^53 (arithmetic, since bitwise ops stop at 2^31). */
  uvar(n: number): void {
    this.ensure(8);
    let v = n;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }
  svar(n: number): void {
    this.uvar(n < 0 ? -2 * n - 1 : 2 * n);
  }
  text(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.uvar(bytes.length);
    this.ensure(bytes.length);
    bytes.copy(this.buf, this.pos);
    this.pos += bytes.length;
  }
  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  byte(): number {
    const b = this.buf[this.pos++];
    if (b === undefined) throw new RangeError('readings blob is truncated');
    return b;
  }
  uvar(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new RangeError('varint too long');
    }
  }
  svar(): number {
    const u = this.uvar();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }
  text(): string {
    const len = this.uvar();
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }
}

/** Decimal places kept per code; values are stored as integers scaled by 10^decimals. */
export type DecimalsOf = (code: string) => number;

export function encodeReadings(readings: readonly Reading[], decimalsOf: DecimalsOf): Buffer {
  const w = new Writer();
  w.byte(VERSION);
  const codes: string[] = [];
  const index = new Map<string, number>();
  for (const r of readings) {
    if (!index.has(r.code)) {
      index.set(r.code, codes.length);
      codes.push(r.code);
    }
  }
  w.uvar(codes.length);
  const scales: number[] = [];
  for (const code of codes) {
    const decimals = decimalsOf(code);
    w.text(code);
    w.byte(decimals);
    scales.push(10 ** decimals);
  }
  w.uvar(readings.length);
  const baseTs = readings.length > 0 ? readings[0]!.tsMs : 0;
  w.uvar(baseTs);
  let prevTs = baseTs;
  const prevValue = new Array<number>(codes.length).fill(0);
  for (const r of readings) {
    const ci = index.get(r.code)!;
    const scaled = Math.round(r.value * scales[ci]!);
    w.uvar(ci);
    w.svar(r.tsMs - prevTs);
    w.svar(scaled - prevValue[ci]!);
    prevTs = r.tsMs;
    prevValue[ci] = scaled;
  }
  return Buffer.from(w.done());
}

export function decodeReadings(blob: Buffer): Reading[] {
  const r = new Reader(blob);
  const version = r.byte();
  if (version !== VERSION) throw new RangeError(`unknown readings blob version ${version}`);
  const codeCount = r.uvar();
  const codes: string[] = [];
  const scales: number[] = [];
  for (let i = 0; i < codeCount; i++) {
    codes.push(r.text());
    scales.push(10 ** r.byte());
  }
  const count = r.uvar();
  let ts = r.uvar();
  const prevValue = new Array<number>(codeCount).fill(0);
  const out: Reading[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const ci = r.uvar();
    ts += r.svar();
    const scaled = prevValue[ci]! + r.svar();
    prevValue[ci] = scaled;
    out[i] = { code: codes[ci]!, value: scaled / scales[ci]!, tsMs: ts };
  }
  return out;
}
