import { Type } from '@sinclair/typebox';
import type { AuditLog } from '../audit/audit-log.ts';
import type { SecurityEvents } from '../detection/security-events.ts';
import { VigilError } from '../errors/catalogue.ts';
import { ID_PATTERN } from '../errors/ids.ts';
import { type App, actorOf } from '../server/http.ts';
import { CATEGORIES, PURPOSES } from './consent.ts';
import { BREAK_GLASS_MINUTES, breakGlassReason, type PatientAccess } from './patient-access.ts';
import { mayKnowEveryPatient } from './patient-existence.ts';
import { readConsents, unknownPatient } from './patient-gate.ts';
import type { Identity } from './session-guard.ts';

export interface ConsentRouteDeps {
  access: PatientAccess;
  audit: AuditLog;
  events: SecurityEvents;
  patientExists(id: string): Promise<boolean>;
}

const Params = Type.Object({ id: Type.String({ pattern: ID_PATTERN.source }) });
const Consent = Type.Object({
  id: Type.String(),
  decision: Type.Union([Type.Literal('permit'), Type.Literal('deny')]),
  purposes: Type.Array(Type.String()),
  categories: Type.Array(Type.String()),
  start: Type.String({ format: 'date-time' }),
  end: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  status: Type.String(),
  recorded: Type.String({ format: 'date-time' }),
});

const iso = (ms: number) => new Date(ms).toISOString();

export function registerConsentRoutes(app: App, deps: ConsentRouteDeps): void {
  const requirePatient = async (id: string) => {
    if (!(await deps.patientExists(id))) throw unknownPatient(id);
  };
  /**
   * For break-glass: whether the patient is registered, throwing 404 only to a caller who may
   * know every patient. A clinician is answered for an unknown id as for a registered patient
   * they hold no grant for (patient-existence.ts): 404 against 200 would let them probe which
   * ids exist.
   */
  const isRegistered = async (identity: Identity | undefined, id: string) => {
    const exists = await deps.patientExists(id);
    if (!exists && (!identity || mayKnowEveryPatient(identity.role))) throw unknownPatient(id);
    return exists;
  };

  app.get(
    '/api/v1/patients/:id/consents',
    {
      config: { access: { permission: 'consents:read' } },
      schema: {
        summary:
          "The patient's consent records, newest first; a clinician's only with a care-team link to the patient or their own running break-glass grant",
        security: [{ bearer: [] }],
        params: Params,
        response: { 200: Type.Object({ consents: Type.Array(Consent) }) },
      },
    },
    async (request) => {
      const { id } = request.params;
      // A clinician only for their care team's patients and their own break-glass ones; a
      // foreign or unknown id is refused alike, with the denied audit entry (patient-gate.ts).
      const records = await readConsents(deps.access, deps.audit, request.identity, id, request.ip);
      await deps.audit.append({
        actor: actorOf(request),
        action: 'consent.read',
        patientId: id,
        resource: `Patient/${id}/Consent`,
        outcome: 'success',
        source: request.ip,
      });
      return {
        consents: records
          .sort((a, b) => b.recordedAt - a.recordedAt)
          .map((c) => ({
            id: c.id,
            decision: c.decision,
            purposes: [...c.purposes],
            categories: [...c.categories],
            start: iso(c.periodStart),
            end: c.periodEnd === null ? null : iso(c.periodEnd),
            status: c.status,
            recorded: iso(c.recordedAt),
          })),
      };
    },
  );

  app.post(
    '/api/v1/patients/:id/consents',
    {
      config: { access: { permission: 'consents:write' } },
      schema: {
        summary: 'Record a consent decision: permit or deny, for purposes and data categories, over a period',
        security: [{ bearer: [] }],
        params: Params,
        body: Type.Object(
          {
            decision: Type.Union([Type.Literal('permit'), Type.Literal('deny')]),
            purposes: Type.Array(Type.Union([...PURPOSES, '*'].map((p) => Type.Literal(p))), {
              minItems: 1,
              uniqueItems: true,
            }),
            categories: Type.Array(Type.Union([...CATEGORIES, '*'].map((c) => Type.Literal(c))), {
              minItems: 1,
              uniqueItems: true,
            }),
            start: Type.Optional(Type.String({ format: 'date-time' })),
            end: Type.Optional(Type.String({ format: 'date-time' })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ id: Type.String() }) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await requirePatient(id);
      const b = request.body;
      const start = b.start ? Date.parse(b.start) : Date.now();
      const end = b.end ? Date.parse(b.end) : null;
      if (end !== null && end <= start) {
        throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'end must be after start');
      }
      const actor = actorOf(request);
      const record = await deps.access.recordConsent(
        id,
        {
          decision: b.decision,
          purposes: b.purposes as never,
          categories: b.categories as never,
          periodStart: start,
          periodEnd: end,
        },
        actor,
      );
      await deps.audit.append({
        actor,
        action: `consent.${b.decision}`,
        patientId: id,
        resource: `Consent/${record.id}`,
        purpose: b.purposes.join(','),
        outcome: 'success',
        source: request.ip,
      });
      return reply.code(201).send({ id: record.id });
    },
  );

  app.post(
    '/api/v1/patients/:id/consents/:consentId/revoke',
    {
      config: { access: { permission: 'consents:write' } },
      schema: {
        summary: 'Revoke a consent record (it stays on file, marked revoked)',
        security: [{ bearer: [] }],
        params: Type.Object({
          id: Type.String({ pattern: ID_PATTERN.source }),
          consentId: Type.String({ pattern: '^consent-[0-9a-f-]{36}$' }),
        }),
        response: { 200: Type.Object({ id: Type.String(), status: Type.Literal('revoked') }) },
      },
    },
    async (request) => {
      const { id, consentId } = request.params;
      if (!(await deps.access.revokeConsent(id, consentId))) {
        throw new VigilError('VIGIL_ERR_CONSENT_UNKNOWN', `no active consent ${consentId} for patient ${id}`);
      }
      await deps.audit.append({
        actor: actorOf(request),
        action: 'consent.revoke',
        patientId: id,
        resource: `Consent/${consentId}`,
        outcome: 'success',
        source: request.ip,
      });
      return { id: consentId, status: 'revoked' as const };
    },
  );

  app.get(
    '/api/v1/patients/:id/break-glass',
    {
      config: { access: { permission: 'breakglass:use' } },
      schema: {
        summary:
          "Whether the caller's own emergency access to the patient is running, and until when (the dashboard's banner)",
        security: [{ bearer: [] }],
        params: Params,
        response: {
          200: Type.Object({
            active: Type.Boolean(),
            expires: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      // An unknown id has no grant, like any patient the caller never broke the glass for.
      const exists = await isRegistered(request.identity, id);
      const actor = actorOf(request);
      // Only the caller's own grant: no patient data, and nothing about other clinicians.
      const running = await deps.access.breakGlassExpiry(actor, id, Date.now());
      const expiresMs = exists ? running : undefined;
      return { active: expiresMs !== undefined, expires: expiresMs === undefined ? null : iso(expiresMs) };
    },
  );

  app.post(
    '/api/v1/patients/:id/break-glass',
    {
      config: { access: { permission: 'breakglass:use' } },
      schema: {
        summary: `Emergency access to a patient outside your care team for ${BREAK_GLASS_MINUTES} minutes; needs a reason, is audited and reported to security at once`,
        security: [{ bearer: [] }],
        params: Params,
        body: Type.Object(
          { reason: Type.String({ minLength: 20, maxLength: 500 }) },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ id: Type.String(), expires: Type.String({ format: 'date-time' }) }) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const identity = request.identity;
      if (!identity) throw new VigilError('VIGIL_ERR_AUTH_REQUIRED', 'sign in first');
      const who = { role: identity.role, name: identity.name, actor: identity.actor };
      if (!(await isRegistered(identity, id))) {
        // The offer a clinician got for this id was the one every foreign patient gets; that it
        // names nobody is said only now, after a reason was given, audited and reported: probing
        // ids this way costs a written reason and an alert to the security officer each time.
        const reason = breakGlassReason(request.body.reason);
        await deps.audit.append({
          actor: who.actor,
          action: 'patient.break-glass',
          patientId: id,
          resource: `Patient/${id}`,
          purpose: reason,
          outcome: 'failure',
          source: request.ip,
        });
        deps.events.record({
          code: 'VIGIL_ERR_BREAK_GLASS',
          detail: `${who.actor} asked to break the glass for patient ${id}, who is not registered; reason is in the audit trail`,
          remoteAddress: request.ip,
        });
        throw unknownPatient(id);
      }
      const grant = await deps.access.breakGlass(who, id, request.body.reason);
      await deps.audit.append({
        actor: who.actor,
        action: 'patient.break-glass',
        patientId: id,
        resource: `Patient/${id}`,
        purpose: grant.reason,
        outcome: 'success',
        source: request.ip,
      });
      deps.events.record({
        code: 'VIGIL_ERR_BREAK_GLASS',
        detail: `${who.actor} broke the glass for patient ${id} until ${iso(grant.expires_ms)}; reason is in the audit trail`,
        remoteAddress: request.ip,
      });
      return reply.code(201).send({ id: grant.id, expires: iso(grant.expires_ms) });
    },
  );
}
