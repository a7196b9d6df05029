import { VigilError } from '../errors/catalogue.ts';
import type { RangeQuery } from './observations.store.ts';
import type { SeriesStore } from './series.store.ts';
import { appendReadings, newSink, type SeriesSink } from './series-codec.ts';
import { compareKeys, type ReadingKey } from './series-cursor.ts';
import type { Points } from './series-downsample.ts';

/** A reading with its place in the sort order (see ReadingKey). */
export interface SeriesRow extends ReadingKey {
  value: number;
}

/** Points of one code; deviceOf(i) names the device of point i when asked for. */
export interface SeriesPoints extends Points {
  deviceOf?: (i: number) => string;
}

export interface PageQuery {
  fromMs: number;
  toMs: number;
  codes?: ReadonlySet<string> | undefined;
  /** Start after this key (exclusive); in descending order, before it. */
  after?: ReadingKey | undefined;
  limit: number;
  descending?: boolean;
}

/** A series query decodes at most this many readings in one request. */
export const MAX_DECODED_READINGS = 5_000_000;
/** The first window a page looks in; it grows fourfold until the page is full. */
const FIRST_WINDOW_MS = 15 * 60_000;

/**
 * Reads series of one patient: keyset pages, per-code point arrays for downsampling, and the
 * latest value per code. SeriesStore opens only the chunks overlapping the asked range; pages
 * ask for a growing window from the cursor, so a page of 100 readings does not open a day.
 */
export class SeriesReader {
  constructor(
    private readonly store: SeriesStore,
    private readonly maxDecodedReadings = MAX_DECODED_READINGS,
  ) {}

  // Each public read runs on one snapshot (SeriesStore.snapshot): its several reads of chunks
  // and staging rows must not straddle a seal committed by the ingest writer.

  page(patientId: string, q: PageQuery): { rows: SeriesRow[]; next: ReadingKey | undefined } {
    return this.store.snapshot(() => this.pageNow(patientId, q));
  }

  private pageNow(patientId: string, q: PageQuery): { rows: SeriesRow[]; next: ReadingKey | undefined } {
    const desc = q.descending === true;
    // A search without a lower date bound asks from 1970 (FHIR) or long before the record: a
    // window growing from there would first find data once it spanned the whole record, and
    // decode all of it for one page. The range shrinks to where the asked codes have data.
    const span = this.store.dataSpan(patientId, q.codes);
    if (!span) return { rows: [], next: undefined };
    const lo = Math.max(q.fromMs, span.firstMs);
    const hi = Math.min(q.toMs, span.lastMs);
    if (lo > hi) return { rows: [], next: undefined };
    const edge = Math.min(hi, Math.max(lo, q.after?.tsMs ?? (desc ? hi : lo)));
    let window = FIRST_WINDOW_MS;
    for (;;) {
      const fromMs = desc ? Math.max(lo, edge - window) : edge;
      const toMs = desc ? edge : Math.min(hi, edge + window);
      const rows = this.keyedNow(patientId, { fromMs, toMs, ...(q.codes ? { codes: q.codes } : {}) });
      if (desc) rows.reverse();
      const after = q.after;
      const fresh = after
        ? rows.filter((r) => (desc ? compareKeys(r, after) < 0 : compareKeys(r, after) > 0))
        : rows;
      const reachedEnd = desc ? fromMs <= lo : toMs >= hi;
      if (fresh.length > q.limit || reachedEnd) {
        const page = fresh.slice(0, q.limit);
        const last = page[page.length - 1];
        return { rows: page, next: fresh.length > q.limit && last ? keyOf(last) : undefined };
      }
      window *= 4;
    }
  }

  /**
   * Time-ordered points per code over a range, for bucketing and LTTB. With `withDevices`, each
   * point also tells its device (deviceOf), to mark exactly the readings a rule flagged.
   */
  points(patientId: string, range: RangeQuery, withDevices = false): Map<string, SeriesPoints> {
    return this.store.snapshot(() => this.pointsNow(patientId, range, withDevices));
  }

  private pointsNow(patientId: string, range: RangeQuery, withDevices: boolean): Map<string, SeriesPoints> {
    this.guardCost(patientId, range);
    const { fromMs, toMs, codes } = range;
    const opened = this.store.opened(patientId, fromMs, toMs, codes);
    const total = opened.reduce((n, b) => n + b.count, 0);
    // With one code the blocks' counts size the arrays exactly; with several they grow.
    const capacity = codes?.size === 1 ? total : Math.min(total, 65_536);
    const sinks = new Map<string, SeriesSink>();
    const sinkOf = (code: string) => {
      if (codes && !codes.has(code)) return undefined;
      let sink = sinks.get(code);
      if (!sink) {
        sink = newSink(capacity, withDevices);
        sinks.set(code, sink);
      }
      return sink;
    };
    const deviceIds: string[] = [];
    const deviceIndex = new Map<string, number>();
    for (const b of opened) {
      let device = deviceIndex.get(b.deviceId);
      if (device === undefined) {
        device = deviceIds.push(b.deviceId) - 1;
        deviceIndex.set(b.deviceId, device);
      }
      appendReadings(b.plain, fromMs, toMs, sinkOf, device);
    }
    const out = new Map<string, SeriesPoints>();
    for (const [code, sink] of sinks) {
      if (sink.n === 0) continue;
      // Blocks come in start order and each is sorted, so only devices overlapping in time or
      // open staging rows need a sort.
      if (!sink.ordered) sortByTime(sink);
      const points: SeriesPoints = { t: sink.t.subarray(0, sink.n), v: sink.v.subarray(0, sink.n) };
      const d = sink.d;
      if (d) points.deviceOf = (i) => deviceIds[d[i]!]!;
      out.set(code, points);
    }
    return out;
  }

  /** The newest reading of each code the patient has. */
  latest(patientId: string): SeriesRow[] {
    return this.store.snapshot(() => this.latestNow(patientId));
  }

  private latestNow(patientId: string): SeriesRow[] {
    const best = new Map<string, SeriesRow>();
    const consider = (rows: SeriesRow[]) => {
      for (const r of rows) {
        const seen = best.get(r.code);
        if (!seen || compareKeys(seen, r) < 0) best.set(r.code, r);
      }
    };
    // A code's newest reading lies at or before the end of its newest chunk. Look back from
    // there in growing windows: once a window holds a reading, any later one would lie inside
    // that window too, so the newest in the window is the newest of all.
    for (const [code, span] of this.store.chunkSpanPerCode(patientId)) {
      const codes = new Set([code]);
      for (let window = 3_600_000; ; window *= 4) {
        const fromMs = Math.max(span.firstMs, span.lastMs - window);
        const rows = this.keyedNow(patientId, { fromMs, toMs: span.lastMs, codes });
        if (rows.length > 0 || fromMs <= span.firstMs) {
          consider(rows);
          break;
        }
      }
    }
    const staged = this.store.stagedSpan(patientId);
    if (staged) consider(this.keyedNow(patientId, { fromMs: staged.minMs, toMs: staged.maxMs }));
    return [...best.values()].sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  }

  /** Readings in a range, sorted by key, with ordinals (by value) for repeated (time, code, device). */
  keyed(patientId: string, range: RangeQuery): SeriesRow[] {
    return this.store.snapshot(() => this.keyedNow(patientId, range));
  }

  private keyedNow(patientId: string, range: RangeQuery): SeriesRow[] {
    this.guardCost(patientId, range);
    const rows: SeriesRow[] = [];
    for (const b of this.store.blocks(patientId, range.fromMs, range.toMs, range.codes)) {
      for (let i = 0; i < b.length; i++) {
        const code = b.codes[b.code[i]!]!;
        const tsMs = b.ts[i]!;
        if (tsMs < range.fromMs || tsMs > range.toMs || (range.codes && !range.codes.has(code))) continue;
        rows.push({ tsMs, code, deviceId: b.deviceId, n: 0, value: b.value[i]! });
      }
    }
    return withOrdinals(rows);
  }

  private guardCost(patientId: string, { fromMs, toMs, codes }: RangeQuery): void {
    const n = this.store.readingsInRange(patientId, fromMs, toMs, codes);
    if (n > this.maxDecodedReadings) {
      throw new VigilError(
        'VIGIL_ERR_REQUEST_INVALID',
        `the range holds about ${n} readings, more than the ${this.maxDecodedReadings} one query may open; narrow from/to or pick a code`,
      );
    }
  }
}

export function keyOf(r: ReadingKey): ReadingKey {
  return { tsMs: r.tsMs, code: r.code, deviceId: r.deviceId, n: r.n };
}

function withOrdinals(rows: SeriesRow[]): SeriesRow[] {
  // The ordinal names a reading in Observation ids and page cursors, so it must not depend on
  // storage order: blocks come in chunk start order and then staging, and sealing a later run
  // into a chunk that starts earlier reorders them. Ties are broken by value; readings equal in
  // time, code, device and value are interchangeable, so their order among themselves is moot.
  rows.sort((a, b) => compareKeys(a, b) || a.value - b.value);
  for (let i = 1; i < rows.length; i++) {
    const a = rows[i - 1]!;
    const b = rows[i]!;
    if (a.tsMs === b.tsMs && a.code === b.code && a.deviceId === b.deviceId) b.n = a.n + 1;
  }
  return rows;
}

function sortByTime(sink: SeriesSink): void {
  const order = Array.from({ length: sink.n }, (_, i) => i).sort((a, b) => sink.t[a]! - sink.t[b]!);
  const t = Float64Array.from(order, (i) => sink.t[i]!);
  const v = Float64Array.from(order, (i) => sink.v[i]!);
  sink.t.set(t);
  sink.v.set(v);
  const d = sink.d;
  if (d) d.set(Uint32Array.from(order, (i) => d[i]!));
}
