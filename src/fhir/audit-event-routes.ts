import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { AuditRow } from '../audit/audit-verify.ts';
import { VigilError } from '../errors/catalogue.ts';
import type { App } from '../server/http.ts';
import { actorOf } from '../server/http.ts';
import type { Schema } from '../store/schema.ts';
import { auditActionCode, toFhirAuditEvent } from './audit-event-resource.ts';
import { searchset, withParam } from './bundle.ts';
import { type AuditEventSearch, parseAuditEventSearch } from './export-params.ts';
import { baseUrl, type FhirDeps, selfUrl, sendResource } from './fhir-context.ts';
import { FhirId } from './patient-routes.ts';
import type { RawQuery } from './search-params.ts';

/** Entries one search looks at when filtering by action code; the page says where it stopped. */
const MAX_SCANNED = 50_000;
const BATCH = 1000;

/**
 * A page of entries newest first. Patient, entity, subtype and date filter in SQL; the action
 * code is derived from the action's verb, so it filters here, batch by batch. A search for a
 * rare code stops after MAX_SCANNED entries with a shorter page and a next link from there:
 * FHIR lets a page hold fewer than _count entries.
 */
export async function searchAuditEvents(
  db: Kysely<Schema>,
  q: AuditEventSearch,
): Promise<{ rows: AuditRow[]; nextBefore: number | undefined }> {
  const rows: AuditRow[] = [];
  let before = q.beforeSeq;
  let scanned = 0;
  for (;;) {
    let query = db.selectFrom('audit_log').selectAll().orderBy('seq', 'desc');
    if (before !== undefined) query = query.where('seq', '<', before);
    if (q.patientId !== undefined) query = query.where('patient_id', '=', q.patientId);
    if (q.entity !== undefined) query = query.where('resource', '=', q.entity);
    if (q.subtype !== undefined) query = query.where('action', '=', q.subtype);
    if (q.fromMs !== undefined) query = query.where('ts', '>=', q.fromMs);
    if (q.toMs !== undefined) query = query.where('ts', '<=', q.toMs);
    const want = q.count + 1 - rows.length;
    const batch = await query.limit(q.actions ? BATCH : want).execute();
    for (const r of batch) {
      if (!q.actions || q.actions.has(auditActionCode(r.action))) rows.push(r);
      if (rows.length > q.count) return { rows: rows.slice(0, q.count), nextBefore: rows[q.count - 1]!.seq };
    }
    scanned += batch.length;
    const last = batch[batch.length - 1];
    if (!q.actions || batch.length < BATCH || !last) return { rows, nextBefore: undefined };
    before = last.seq;
    if (scanned >= MAX_SCANNED) return { rows, nextBefore: before };
  }
}

/**
 * AuditEvent: search and read over the hash-chained audit trail (permission audit:read).
 * Reading the trail is itself on the trail, as with GET /api/v1/audit: an audit.search entry
 * per search, an audit.read entry per read, naming the patient when one was asked for.
 */
export function registerAuditEventResource(fhir: App, deps: FhirDeps): void {
  fhir.get(
    '/AuditEvent',
    {
      config: { access: { permission: 'audit:read' } },
      schema: {
        summary: 'FHIR search AuditEvent, newest first (patient, entity, date, action, subtype, _count)',
        tags: ['FHIR'],
        security: [{ bearer: [] }],
      },
    },
    async (request, reply) => {
      const q = parseAuditEventSearch(request.query as RawQuery);
      const { rows, nextBefore } = await searchAuditEvents(deps.db, q);
      await deps.audit.append({
        actor: actorOf(request),
        action: 'audit.search',
        resource: 'AuditEvent',
        patientId: q.patientId,
        outcome: 'success',
        source: request.ip,
      });
      const self = selfUrl(request);
      const next = nextBefore === undefined ? undefined : withParam(self, '_cursor', String(nextBefore));
      return sendResource(reply, 200, searchset(self, baseUrl(request), rows.map(toFhirAuditEvent), next));
    },
  );

  fhir.get(
    '/AuditEvent/:id',
    {
      config: { access: { permission: 'audit:read' } },
      schema: {
        summary: 'FHIR read AuditEvent (the id is the entry sequence number)',
        tags: ['FHIR'],
        security: [{ bearer: [] }],
        params: Type.Object({ id: FhirId }),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const row = /^[1-9]\d{0,14}$/.test(id)
        ? await deps.db.selectFrom('audit_log').selectAll().where('seq', '=', Number(id)).executeTakeFirst()
        : undefined;
      if (!row) throw new VigilError('VIGIL_ERR_NOT_FOUND', `AuditEvent/${id} does not exist`);
      await deps.audit.append({
        actor: actorOf(request),
        action: 'audit.read',
        resource: `AuditEvent/${id}`,
        patientId: row.patient_id ?? undefined,
        outcome: 'success',
        source: request.ip,
      });
      return sendResource(reply, 200, toFhirAuditEvent(row));
    },
  );
}
