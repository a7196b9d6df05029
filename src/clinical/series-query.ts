import { VigilError } from '../errors/catalogue.ts';
import { decodeCursor, type ReadingKey } from './series-cursor.ts';

/** What GET /api/v1/patients/{id}/observations asks for, validated. */
export type SeriesMode =
  | { kind: 'raw'; limit: number; after?: ReadingKey }
  | { kind: 'buckets'; bucketMs: number; label: string }
  | { kind: 'lttb'; points: number };

export interface SeriesRequest {
  fromMs: number;
  toMs: number;
  codes?: ReadonlySet<string>;
  mode: SeriesMode;
}

export interface SeriesQueryString {
  code?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
  resolution?: string | undefined;
  downsample?: string | undefined;
  points?: number | undefined;
}

export const DEFAULT_LIMIT = 10_000;
export const MAX_LIMIT = 100_000;
export const MAX_CHART_POINTS = 10_000;
/** A bucket query answers at most this many buckets per code (a week at one minute). */
export const MAX_BUCKETS = 10_080;
/** Clocks may run a little ahead of the server; "now" as an upper bound allows for it. */
const FUTURE_SLACK_MS = 5 * 60_000;

const invalid = (detail: string) => new VigilError('VIGIL_ERR_REQUEST_INVALID', detail);

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(T(\d{2}):(\d{2})(:(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** An ISO 8601 date (midnight UTC) or date-time with an offset, to epoch ms. */
export function parseInstant(name: string, value: string): number {
  const m = INSTANT.exec(value);
  const ms = Date.parse(m?.[4] ? value : `${value}T00:00:00Z`);
  // Date.parse rolls 2026-02-31 over to March; a date that does not round-trip is refused.
  const sameDay = m !== null && Number.isFinite(ms) && dayOf(ms, m[10]) === `${m[1]}-${m[2]}-${m[3]}`;
  if (!m || !sameDay || Number(m[5] ?? 0) > 23 || Number(m[6] ?? 0) > 59 || Number(m[8] ?? 0) > 59) {
    throw invalid(
      `${name}=${value.slice(0, 40)} is not an ISO 8601 date-time; use e.g. 2026-11-22T10:00:00Z`,
    );
  }
  return ms;
}

function dayOf(ms: number, offset: string | undefined): string {
  let shift = 0;
  if (offset && offset !== 'Z') {
    const sign = offset.startsWith('-') ? -1 : 1;
    shift = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6))) * 60_000;
  }
  return new Date(ms + shift).toISOString().slice(0, 10);
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A resolution such as 30s, 5m, 1h or 1d: the width of one bucket. */
export function parseResolution(value: string): number {
  const m = /^([1-9]\d{0,4})([smhd])$/.exec(value);
  const ms = m ? Number(m[1]) * UNIT_MS[m[2]!]! : Number.NaN;
  if (!m || ms > 7 * 86_400_000) {
    throw invalid(
      `resolution=${value.slice(0, 20)} is not a bucket width; use a number and s, m, h or d (1s to 7d), e.g. 5m`,
    );
  }
  return ms;
}

/** Checks the combination of parameters and turns them into one request. */
export function parseSeriesQuery(q: SeriesQueryString, nowMs: number): SeriesRequest {
  const toMs = q.to === undefined ? nowMs + FUTURE_SLACK_MS : parseInstant('to', q.to);
  const fromMs = q.from === undefined ? toMs - 86_400_000 : parseInstant('from', q.from);
  if (fromMs > toMs) throw invalid('from must not be after to');
  const codes = q.code === undefined ? undefined : parseCodes(q.code);
  const base = { fromMs, toMs, ...(codes ? { codes } : {}) };
  const pagingGiven = q.limit !== undefined || q.cursor !== undefined;
  if (q.resolution !== undefined && q.downsample !== undefined)
    throw invalid('give either resolution (min/max/mean buckets) or downsample=lttb, not both');
  if (q.points !== undefined && q.downsample === undefined)
    throw invalid('points applies only with downsample=lttb');
  if ((q.resolution !== undefined || q.downsample !== undefined) && pagingGiven)
    throw invalid('limit and cursor page raw readings; a downsampled series comes in one answer');
  if (q.resolution !== undefined) {
    const bucketMs = parseResolution(q.resolution);
    if ((toMs - fromMs) / bucketMs > MAX_BUCKETS) {
      throw invalid(
        `resolution=${q.resolution} over this range makes more than ${MAX_BUCKETS} buckets; use a coarser resolution or a shorter range`,
      );
    }
    return { ...base, mode: { kind: 'buckets', bucketMs, label: q.resolution } };
  }
  if (q.downsample !== undefined) {
    if (q.downsample !== 'lttb')
      throw invalid(`downsample=${q.downsample.slice(0, 20)} is unknown; use lttb`);
    const points = q.points ?? 1000;
    if (!Number.isInteger(points) || points < 2 || points > MAX_CHART_POINTS)
      throw invalid(`points must be an integer from 2 to ${MAX_CHART_POINTS}`);
    return { ...base, mode: { kind: 'lttb', points } };
  }
  const limit = q.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw invalid(`limit must be an integer from 1 to ${MAX_LIMIT}`);
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  return { ...base, mode: { kind: 'raw', limit, ...(after ? { after } : {}) } };
}

/** One LOINC code, or several separated by commas. */
export function parseCodes(value: string): Set<string> {
  const codes = value.split(',');
  if (codes.length > 20 || codes.some((c) => !/^[0-9]{1,7}-[0-9]$/.test(c))) {
    throw invalid(`code=${value.slice(0, 40)} is not a LOINC code list; use e.g. 8867-4 or 8867-4,59408-5`);
  }
  return new Set(codes);
}
