import { Type } from '@sinclair/typebox';
import type { PatientGate } from '../access/patient-gate.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { ID_PATTERN } from '../errors/ids.ts';
import type { CodeRegistry } from '../ingest/vital-codes.ts';
import { type App, actorOf } from '../server/http.ts';
import type { PatientStore } from './patients.store.ts';
import type { SeriesReader, SeriesRow } from './series.ts';
import { encodeCursor } from './series-cursor.ts';
import { bucketize, lttbIndexes } from './series-downsample.ts';
import { MAX_CHART_POINTS, MAX_LIMIT, parseSeriesQuery, type SeriesRequest } from './series-query.ts';

export interface SeriesRouteDeps {
  patients: PatientStore;
  series: SeriesReader;
  registry: CodeRegistry;
  audit: AuditLog;
  /** Care team, consent, break-glass: the only way these routes reach a patient's key. */
  gate: PatientGate;
  /** The patient's readings in a range that the data-quality rules judged questionable. */
  questionableReadings?: (
    patientId: string,
    fromMs: number,
    toMs: number,
  ) => Promise<Array<{ code: string; deviceId: string; tsMs: number }>>;
}

type Marker = (code: string, deviceId: string, tsMs: number) => { questionable?: true };

/**
 * Readings the data-quality rules judged questionable are marked, so a chart shows them apart.
 * The device is part of the key: a flag on one device's reading says nothing of another
 * device's reading of the same code at the same instant.
 */
function marker(flagged: ReadonlyArray<{ code: string; deviceId: string; tsMs: number }>): Marker {
  if (flagged.length === 0) return () => ({});
  const keys = new Set(flagged.map((r) => `${r.code}|${r.deviceId}|${r.tsMs}`));
  return (code, deviceId, tsMs) => (keys.has(`${code}|${deviceId}|${tsMs}`) ? { questionable: true } : {});
}

const Observation = Type.Object({
  code: Type.String(),
  value: Type.Number(),
  unit: Type.String(),
  effective: Type.String(),
  device: Type.String(),
  questionable: Type.Optional(Type.Boolean()),
});
const Bucket = Type.Object({
  code: Type.String(),
  unit: Type.String(),
  start: Type.String(),
  count: Type.Integer(),
  min: Type.Number(),
  max: Type.Number(),
  mean: Type.Number(),
});
const Series = Type.Object({
  code: Type.String(),
  unit: Type.String(),
  /** How many readings the range held before downsampling. */
  readings: Type.Integer(),
  points: Type.Array(
    Type.Object({
      effective: Type.String(),
      value: Type.Number(),
      /** The reading came from a device under a data-quality notice at that time. */
      questionable: Type.Optional(Type.Boolean()),
    }),
  ),
});
const PatientParams = Type.Object({ id: Type.String({ pattern: ID_PATTERN.source, maxLength: 64 }) });

const iso = (ms: number) => new Date(ms).toISOString();

/** Observation queries under /api/v1/patients/{id}/observations (raw pages, buckets, LTTB, latest). */
export function registerSeriesRoutes(app: App, deps: SeriesRouteDeps): void {
  const unitOf = (code: string) => deps.registry.get(code)?.canonicalUnit ?? '';
  const observation = (r: SeriesRow, mark: Marker = () => ({})) => ({
    code: r.code,
    value: r.value,
    unit: unitOf(r.code),
    effective: iso(r.tsMs),
    device: r.deviceId,
    ...mark(r.code, r.deviceId, r.tsMs),
  });

  const readSeries = (id: string, q: SeriesRequest, mark: Marker, anyFlagged: boolean) => {
    const head = { patient: id, from: iso(q.fromMs), to: iso(q.toMs) };
    const range = { fromMs: q.fromMs, toMs: q.toMs, ...(q.codes ? { codes: q.codes } : {}) };
    const mode = q.mode;
    if (mode.kind === 'raw') {
      const page = deps.series.page(id, { ...range, limit: mode.limit, after: mode.after });
      return {
        ...head,
        observations: page.rows.map((r) => observation(r, mark)),
        truncated: page.next !== undefined,
        ...(page.next ? { next: encodeCursor(page.next) } : {}),
      };
    }
    // Points carry their devices only when a flag could mark one; buckets carry no marks.
    const withDevices = anyFlagged && mode.kind === 'lttb';
    const perCode = [...deps.series.points(id, range, withDevices)].sort(([a], [b]) => (a < b ? -1 : 1));
    if (mode.kind === 'buckets') {
      return {
        ...head,
        resolution: mode.label,
        buckets: perCode.flatMap(([code, points]) =>
          bucketize(points, mode.bucketMs).map((b) => ({
            code,
            unit: unitOf(code),
            start: iso(b.startMs),
            count: b.count,
            min: b.min,
            max: b.max,
            mean: b.mean,
          })),
        ),
      };
    }
    return {
      ...head,
      downsample: 'lttb',
      series: perCode.map(([code, points]) => ({
        code,
        unit: unitOf(code),
        readings: points.t.length,
        points: lttbIndexes(points, mode.points).map((i) => ({
          effective: iso(points.t[i]!),
          value: points.v[i]!,
          ...(points.deviceOf ? mark(code, points.deviceOf(i), points.t[i]!) : {}),
        })),
      })),
    };
  };

  app.get(
    '/api/v1/patients/:id/observations',
    {
      config: { access: { permission: 'observations:read' } },
      schema: {
        summary:
          "A patient's readings, oldest first: raw pages (limit, cursor), min/max/mean buckets (resolution) or a chart series (downsample=lttb, points)",
        security: [{ bearer: [] }],
        params: PatientParams,
        querystring: Type.Object(
          {
            code: Type.Optional(Type.String({ maxLength: 200 })),
            from: Type.Optional(Type.String({ maxLength: 40 })),
            to: Type.Optional(Type.String({ maxLength: 40 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT })),
            cursor: Type.Optional(Type.String({ maxLength: 200 })),
            resolution: Type.Optional(Type.String({ maxLength: 20 })),
            downsample: Type.Optional(Type.String({ maxLength: 20 })),
            points: Type.Optional(Type.Integer({ minimum: 2, maximum: MAX_CHART_POINTS })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            patient: Type.String(),
            from: Type.String(),
            to: Type.String(),
            observations: Type.Optional(Type.Array(Observation)),
            truncated: Type.Optional(Type.Boolean()),
            next: Type.Optional(Type.String()),
            resolution: Type.Optional(Type.String()),
            buckets: Type.Optional(Type.Array(Bucket)),
            downsample: Type.Optional(Type.String()),
            series: Type.Optional(Type.Array(Series)),
          }),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const q = parseSeriesQuery(request.query, Date.now());
      await deps.gate.mayRead(request.identity, id, request.ip);
      const flagged = (await deps.questionableReadings?.(id, q.fromMs, q.toMs)) ?? [];
      const answer = readSeries(id, q, marker(flagged), flagged.length > 0);
      await deps.audit.append({
        actor: actorOf(request),
        action: 'observation.read',
        patientId: id,
        resource: `Patient/${id}/Observation`,
        outcome: 'success',
        source: request.ip,
      });
      return answer;
    },
  );

  app.get(
    '/api/v1/patients/:id/observations/latest',
    {
      config: { access: { permission: 'observations:read' } },
      schema: {
        summary: "A patient's newest reading of each code",
        security: [{ bearer: [] }],
        params: PatientParams,
        response: { 200: Type.Object({ patient: Type.String(), latest: Type.Array(Observation) }) },
      },
    },
    async (request) => {
      const { id } = request.params;
      await deps.gate.mayRead(request.identity, id, request.ip);
      const latest = deps.series.latest(id).map((r) => observation(r));
      await deps.audit.append({
        actor: actorOf(request),
        action: 'observation.read-latest',
        patientId: id,
        resource: `Patient/${id}/Observation`,
        outcome: 'success',
        source: request.ip,
      });
      return { patient: id, latest };
    },
  );
}
