import { Type } from '@sinclair/typebox';
import type { AuditLog } from '../audit/audit-log.ts';
import { VigilError } from '../errors/catalogue.ts';
import { ID_PATTERN } from '../errors/ids.ts';
import type { CodeRegistry } from '../ingest/vital-codes.ts';
import type { App } from '../server/http.ts';
import type { SqliteObservationStore } from './observations.store.ts';
import type { PatientStore } from './patients.store.ts';

export interface ClinicalRouteDeps {
  patients: PatientStore;
  observations: SqliteObservationStore;
  registry: CodeRegistry;
  audit: AuditLog;
  ensurePatientKey(patientId: string): Promise<void>;
}

const MAX_POINTS = 100_000;
const Observation = Type.Object({
  code: Type.String(),
  value: Type.Number(),
  unit: Type.String(),
  effective: Type.String(),
  device: Type.String(),
});

function parseInstant(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(value) || Number.isNaN(ms)) {
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `${name}=${value.slice(0, 40)} is not an ISO 8601 date-time; use e.g. 2026-11-22T10:00:00Z`,
    );
  }
  return ms;
}

export function registerClinicalRoutes(app: App, deps: ClinicalRouteDeps): void {
  app.get(
    '/api/v1/patients',
    {
      config: { access: { permission: 'patients:read' } },
      schema: {
        summary: 'List patient ids',
        security: [{ bearer: [] }],
        response: { 200: Type.Object({ patients: Type.Array(Type.Object({ id: Type.String() })) }) },
      },
    },
    async (request) => {
      const ids = await deps.patients.listIds();
      await deps.audit.append({
        actor: `token:${request.identity?.name}`,
        action: 'patient.list',
        resource: 'Patient',
        outcome: 'success',
        source: request.ip,
      });
      return { patients: ids.map((id) => ({ id })) };
    },
  );

  app.get(
    '/api/v1/patients/:id/observations',
    {
      config: { access: { permission: 'observations:read' } },
      schema: {
        summary: "A patient's readings, decrypted, oldest first",
        security: [{ bearer: [] }],
        params: Type.Object({ id: Type.String({ pattern: ID_PATTERN.source, maxLength: 64 }) }),
        querystring: Type.Object(
          {
            code: Type.Optional(Type.String({ pattern: '^[0-9]{1,7}-[0-9]$' })),
            from: Type.Optional(Type.String({ maxLength: 40 })),
            to: Type.Optional(Type.String({ maxLength: 40 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_POINTS })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            patient: Type.String(),
            observations: Type.Array(Observation),
            truncated: Type.Boolean(),
          }),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const now = Date.now();
      const toMs = parseInstant('to', request.query.to, now + 5 * 60_000);
      const fromMs = parseInstant('from', request.query.from, toMs - 24 * 3600_000);
      if (fromMs > toMs) throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'from must not be after to');
      if (!(await deps.patients.exists(id)))
        throw new VigilError('VIGIL_ERR_PATIENT_UNKNOWN', `patient ${id} is not registered`);
      await deps.ensurePatientKey(id);
      const codes = request.query.code ? new Set([request.query.code]) : undefined;
      const rows = deps.observations.query(id, { fromMs, toMs, ...(codes ? { codes } : {}) });
      const limit = request.query.limit ?? 10_000;
      await deps.audit.append({
        actor: `token:${request.identity?.name}`,
        action: 'observation.read',
        patientId: id,
        resource: `Patient/${id}/Observation`,
        outcome: 'success',
        source: request.ip,
      });
      return {
        patient: id,
        truncated: rows.length > limit,
        observations: rows.slice(-limit).map((r) => ({
          code: r.code,
          value: r.value,
          unit: deps.registry.get(r.code)?.canonicalUnit ?? '',
          effective: new Date(r.tsMs).toISOString(),
          device: r.deviceId,
        })),
      };
    },
  );
}
