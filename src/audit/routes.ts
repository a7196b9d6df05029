import { Type } from '@sinclair/typebox';
import { VigilError } from '../errors/catalogue.ts';
import { ID_PATTERN } from '../errors/ids.ts';
import { type App, actorOf } from '../server/http.ts';
import type { AuditLog } from './audit-log.ts';
import type { SignatureCheck } from './audit-signer.ts';
import type { AuditAnchor } from './audit-verify.ts';

export interface AuditRouteDeps {
  audit: AuditLog;
  check: SignatureCheck;
  anchor(): AuditAnchor | undefined;
}

const Entry = Type.Object({
  seq: Type.Integer(),
  time: Type.String({ format: 'date-time' }),
  actor: Type.String(),
  action: Type.String(),
  patient: Type.Union([Type.String(), Type.Null()]),
  resource: Type.String(),
  purpose: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.String(),
  source: Type.Union([Type.String(), Type.Null()]),
  hash: Type.String(),
});

const Problem = Type.Object({ kind: Type.String(), at: Type.Integer(), detail: Type.String() });

const TEXT = { type: 'string', minLength: 1, maxLength: 200 } as const;
const Query = Type.Object(
  {
    actor: Type.Optional(Type.String(TEXT)),
    action: Type.Optional(Type.String({ ...TEXT, pattern: '^[a-z][a-z0-9_.-]*$' })),
    patient: Type.Optional(Type.String({ pattern: ID_PATTERN.source })),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    before: Type.Optional(Type.Integer({ minimum: 1 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
);

export function registerAuditRoutes(app: App, deps: AuditRouteDeps): void {
  app.get(
    '/api/v1/audit',
    {
      config: { access: { permission: 'audit:read' } },
      schema: {
        summary: 'Search the audit trail, newest first (page with ?before=<seq of the last entry>)',
        security: [{ bearer: [] }],
        querystring: Query,
        response: {
          200: Type.Object({ entries: Type.Array(Entry), next: Type.Union([Type.Integer(), Type.Null()]) }),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const fromMs = q.from === undefined ? undefined : Date.parse(q.from);
      const toMs = q.to === undefined ? undefined : Date.parse(q.to);
      if (fromMs !== undefined && toMs !== undefined && fromMs > toMs) {
        throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'from is after to; swap them');
      }
      const limit = q.limit ?? 100;
      const rows = await deps.audit.search({
        limit,
        beforeSeq: q.before,
        actor: q.actor,
        action: q.action,
        patientId: q.patient,
        fromMs,
        toMs,
      });
      // Reading the trail is itself on the trail: who looked at whose history.
      await deps.audit.append({
        actor: actorOf(request),
        action: 'audit.search',
        resource: 'AuditEvent',
        patientId: q.patient,
        outcome: 'success',
        source: request.ip,
      });
      return {
        entries: rows.map((r) => ({
          seq: r.seq,
          time: new Date(r.ts).toISOString(),
          actor: r.actor,
          action: r.action,
          patient: r.patient_id,
          resource: r.resource,
          purpose: r.purpose,
          outcome: r.outcome,
          source: r.source,
          hash: r.hash,
        })),
        next: rows.length === limit ? (rows[rows.length - 1]?.seq ?? null) : null,
      };
    },
  );

  app.get(
    '/api/v1/audit/verify',
    {
      config: { access: { permission: 'audit:read' } },
      schema: {
        summary: 'Verify the hash chain and the signed checkpoints of the whole audit trail',
        security: [{ bearer: [] }],
        response: {
          200: Type.Object({
            intact: Type.Boolean(),
            entries: Type.Integer(),
            brokenAt: Type.Union([Type.Integer(), Type.Null()]),
            problems: Type.Array(Problem),
            checkpoints: Type.Integer(),
            lastCheckpoint: Type.Union([
              Type.Object({ id: Type.Integer(), auditSeq: Type.Integer(), time: Type.String() }),
              Type.Null(),
            ]),
            unsignedTail: Type.Integer(),
          }),
        },
      },
    },
    async (request) => {
      const r = await deps.audit.verify({ check: deps.check, anchor: deps.anchor() });
      await deps.audit.append({
        actor: actorOf(request),
        action: 'audit.verify',
        resource: 'AuditEvent',
        outcome: r.intact ? 'success' : 'failure',
        source: request.ip,
      });
      return {
        intact: r.intact,
        entries: r.entries,
        brokenAt: r.brokenAt ?? null,
        problems: r.problems,
        checkpoints: r.checkpoints,
        lastCheckpoint: r.lastCheckpoint
          ? {
              id: r.lastCheckpoint.id,
              auditSeq: r.lastCheckpoint.auditSeq,
              time: new Date(r.lastCheckpoint.ts).toISOString(),
            }
          : null,
        unsignedTail: r.unsignedTail,
      };
    },
  );
}
