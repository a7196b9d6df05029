import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { mayKnowEveryPatient } from '../../access/patient-existence.ts';
import type { PatientGate } from '../../access/patient-gate.ts';
import { can } from '../../access/roles.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { VigilError } from '../../errors/catalogue.ts';
import { ID_PATTERN } from '../../errors/ids.ts';
import { type App, actorOf } from '../../server/http.ts';
import type { PatientStore } from '../patients.store.ts';
import { ALERT_CONDITIONS } from './alert-conditions.ts';
import type { AlertEngine } from './alert-engine.ts';
import type { Alert } from './alert-lifecycle.ts';
import { AlertRuleOverridesSchema, AlertRulesSchema, DEFAULT_ALERT_RULES } from './alert-rules.ts';
import type { AlertStore } from './alerts.store.ts';

export interface AlertRouteDeps {
  engine: AlertEngine;
  store: AlertStore;
  patients: PatientStore;
  audit: AuditLog;
  ensurePatientKey(patientId: string): Promise<void>;
  /** Care team, consent and break-glass: who may see which patient's alerts. */
  gate: PatientGate;
}

const Id = Type.String({ pattern: ID_PATTERN.source, maxLength: 64 });
const AlertId = Type.String({ pattern: '^[0-9a-f-]{36}$' });
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

const AlertBody = Type.Object({
  id: Type.String(),
  patient: Type.String(),
  condition: Type.String(),
  title: Type.String(),
  device: Nullable(Type.String()),
  urgency: Type.String(),
  state: Type.String(),
  value: Type.Number(),
  onset: Type.String(),
  opened: Type.String(),
  updated: Type.String(),
  acknowledgedBy: Nullable(Type.String()),
  acknowledged: Nullable(Type.String()),
  snoozedUntil: Nullable(Type.String()),
  resolved: Nullable(Type.String()),
  resolvedBy: Nullable(Type.String()),
  resolution: Nullable(Type.String()),
  escalationLevel: Type.Integer(),
  assignedTo: Nullable(Type.String()),
});

/** One alert as the API shows it (GET /api/v1/alerts items, live-stream alert frames). */
export function view(a: Alert) {
  return {
    id: a.id,
    patient: a.patientId,
    condition: a.condition,
    title: ALERT_CONDITIONS[a.condition].title,
    device: a.deviceId === '' ? null : a.deviceId,
    urgency: a.urgency,
    state: a.state,
    value: a.value,
    onset: new Date(a.onsetMs).toISOString(),
    opened: new Date(a.openedMs).toISOString(),
    updated: new Date(a.updatedMs).toISOString(),
    acknowledgedBy: a.acknowledgedBy,
    acknowledged: iso(a.acknowledgedMs),
    snoozedUntil: iso(a.snoozedUntilMs),
    resolved: iso(a.resolvedMs),
    resolvedBy: a.resolvedBy,
    resolution: a.resolution,
    escalationLevel: a.escalationLevel,
    assignedTo: a.assignedTo,
  };
}

export function registerAlertRoutes(app: App, deps: AlertRouteDeps): void {
  const { engine, audit } = deps;
  /**
   * A list read is audited once per patient it disclosed, so each patient's access report lists
   * it; a list that named no patient is audited once, without one.
   */
  const auditListRead = async (
    request: FastifyRequest,
    action: string,
    resource: string,
    disclosed: ReadonlySet<string>,
  ): Promise<void> => {
    const entry = { actor: actorOf(request), action, outcome: 'success' as const, source: request.ip };
    for (const patientId of disclosed)
      await audit.append({ ...entry, patientId, resource: `Patient/${patientId}/${resource}` });
    if (disclosed.size === 0) await audit.append({ ...entry, resource });
  };

  app.get(
    '/api/v1/alerts',
    {
      config: { access: { permission: 'alerts:read' } },
      schema: {
        summary: 'Alerts, newest first, filtered by state, patient and urgency',
        security: [{ bearer: [] }],
        querystring: Type.Object(
          {
            state: Type.Optional(
              Type.Union([Type.Literal('open'), Type.Literal('acknowledged'), Type.Literal('resolved')]),
            ),
            patient: Type.Optional(Id),
            urgency: Type.Optional(Type.Union([Type.Literal('urgent'), Type.Literal('warning')])),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ alerts: Type.Array(AlertBody) }) },
      },
    },
    async (request) => {
      const q = request.query;
      if (q.patient) await deps.gate.mayRead(request.identity, q.patient, request.ip, 'alerts');
      // The patients the caller may see (care team, consent, break-glass) go into the query, so
      // the limit counts only their alerts (newer alerts of other wards cannot push the caller's
      // own urgent alert off the list) and no other patient's alert is read or decrypted.
      const patients = await deps.gate.readablePatients(request.identity, 'alerts');
      const alerts = await engine.list({
        state: q.state,
        patientId: q.patient,
        urgency: q.urgency,
        patients,
        limit: q.limit ?? 200,
      });
      const disclosed = new Set(alerts.map((a) => a.patientId));
      if (q.patient) disclosed.add(q.patient);
      await auditListRead(request, 'alert.list', 'Alert', disclosed);
      return { alerts: alerts.map(view) };
    },
  );

  app.get(
    '/api/v1/alerts/:id',
    {
      config: { access: { permission: 'alerts:read' } },
      schema: {
        summary: 'One alert with its history (raised, escalated, acknowledged, ...)',
        security: [{ bearer: [] }],
        params: Type.Object({ id: AlertId }),
        response: {
          200: Type.Object({
            alert: AlertBody,
            history: Type.Array(
              Type.Object({
                at: Type.String(),
                actor: Type.String(),
                action: Type.String(),
                detail: Type.String(),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const alert = await engine.get(request.params.id);
      await deps.gate.mayRead(request.identity, alert.patientId, request.ip, 'alerts');
      const history = await engine.events(alert.id);
      await audit.append({
        actor: actorOf(request),
        action: 'alert.read',
        patientId: alert.patientId,
        resource: `Alert/${alert.id}`,
        outcome: 'success',
        source: request.ip,
      });
      return {
        alert: view(alert),
        history: history.map((e) => ({
          at: new Date(e.ts).toISOString(),
          actor: e.actor,
          action: e.action,
          detail: e.detail,
        })),
      };
    },
  );

  const actions = [
    [
      'ack',
      'Acknowledge an open alert: escalation stops',
      (id: string, actor: string) => engine.acknowledge(id, actor),
    ],
    ['resolve', 'Resolve an alert by hand', (id: string, actor: string) => engine.resolve(id, actor)],
  ] as const;
  for (const [verb, summary, run] of actions) {
    app.post(
      `/api/v1/alerts/:id/${verb}`,
      {
        config: { access: { permission: 'alerts:write' } },
        schema: {
          summary,
          security: [{ bearer: [] }],
          params: Type.Object({ id: AlertId }),
          response: { 200: Type.Object({ alert: AlertBody }) },
        },
      },
      async (request) => {
        const { patientId } = await engine.get(request.params.id);
        await deps.gate.mayRead(request.identity, patientId, request.ip, 'alerts');
        return { alert: view(await run(request.params.id, actorOf(request))) };
      },
    );
  }

  app.post(
    '/api/v1/alerts/:id/snooze',
    {
      config: { access: { permission: 'alerts:write' } },
      schema: {
        summary: "Silence an open alert for a while, up to the patient's maxSnoozeMinutes",
        security: [{ bearer: [] }],
        params: Type.Object({ id: AlertId }),
        body: Type.Object(
          { minutes: Type.Integer({ minimum: 1, maximum: 240 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ alert: AlertBody }) },
      },
    },
    async (request) => {
      const { patientId } = await engine.get(request.params.id);
      await deps.gate.mayRead(request.identity, patientId, request.ip, 'alerts');
      return { alert: view(await engine.snooze(request.params.id, request.body.minutes, actorOf(request))) };
    },
  );

  const RulesResponse = Type.Object({
    patient: Type.String(),
    defaults: AlertRulesSchema,
    overrides: AlertRuleOverridesSchema,
    effective: AlertRulesSchema,
  });
  const requirePatient = async (id: string) => {
    if (!(await deps.patients.exists(id)))
      throw new VigilError('VIGIL_ERR_PATIENT_UNKNOWN', `patient ${id} is not registered`);
  };

  app.get(
    '/api/v1/patients/:id/alert-rules',
    {
      config: { access: { permission: 'alertrules:read' } },
      schema: {
        summary: "A patient's alert rules: defaults, the administrator's overrides, and the result",
        security: [{ bearer: [] }],
        params: Type.Object({ id: Id }),
        response: { 200: RulesResponse },
      },
    },
    async (request) => {
      const { id } = request.params;
      // A patient's thresholds are clinical settings: a clinician reads them as the patient's
      // alerts, through a care team or break-glass, and an unknown id is refused as a patient
      // outside their care team is (patient-existence.ts), not answered 404.
      const role = request.identity?.role;
      if (role !== undefined && mayKnowEveryPatient(role)) await requirePatient(id);
      else await deps.gate.mayRead(request.identity, id, request.ip, 'alerts');
      return {
        patient: id,
        defaults: DEFAULT_ALERT_RULES,
        overrides: engine.overridesFor(id),
        effective: engine.rulesFor(id),
      };
    },
  );

  app.put(
    '/api/v1/patients/:id/alert-rules',
    {
      config: { access: { permission: 'alertrules:write' } },
      schema: {
        summary: "Replace a patient's rule overrides ({} restores the defaults)",
        security: [{ bearer: [] }],
        params: Type.Object({ id: Id }),
        // Validated by parseRuleOverrides, which names the offending rule in its message.
        body: Type.Object({}, { additionalProperties: true }),
        response: { 200: RulesResponse },
      },
    },
    async (request) => {
      const { id } = request.params;
      await requirePatient(id);
      await deps.ensurePatientKey(id);
      const { overrides, rules } = await engine.setRules(id, request.body, actorOf(request));
      return { patient: id, defaults: DEFAULT_ALERT_RULES, overrides, effective: rules };
    },
  );

  app.get(
    '/api/v1/data-quality',
    {
      config: { access: { permission: 'dataquality:read' } },
      schema: {
        summary: 'Data-quality notices: devices whose readings were marked questionable, and why',
        description:
          "A clinician sees the notices of the patients they may read (vital signs); administrators and security officers see every device's notices, with patient null.",
        security: [{ bearer: [] }],
        querystring: Type.Object(
          {
            device: Type.Optional(Id),
            open: Type.Optional(Type.Boolean()),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            notices: Type.Array(
              Type.Object({
                id: Type.Integer(),
                device: Type.String(),
                /** null for roles that see devices but read no patient data. */
                patient: Nullable(Type.String()),
                issue: Type.Union([
                  Type.Literal('implausible-jump'),
                  Type.Literal('flat-line'),
                  Type.Literal('clock-skew'),
                ]),
                first: Type.String(),
                last: Type.String(),
                questionableReadings: Type.Integer(),
                cleared: Nullable(Type.String()),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const q = request.query;
      // A notice names a device and the patient whose readings it judged questionable: fleet
      // data and patient data at once. Who sees what:
      // - roles that act on devices (devices:quarantine: administrators, security officers) see
      //   every device's notices, since a device sending questionable data may be faulty or
      //   tampered with and is theirs to quarantine; they read no patient data, so the patient
      //   is left out (null);
      // - everyone else with dataquality:read (clinicians) sees the notices of the patients the
      //   gate opens to them for vital signs (the readings the notice judges, which a chart marks
      //   questionable under the same category), filtered in the query so the limit counts only
      //   theirs and no other patient's notice is read.
      const isDeviceView = request.identity !== undefined && can(request.identity.role, 'devices:quarantine');
      const patients = isDeviceView
        ? undefined
        : await deps.gate.readablePatients(request.identity, 'vital-signs');
      const notices = await deps.store.notices({
        deviceId: q.device,
        isOpen: q.open,
        patients,
        limit: q.limit ?? 200,
      });
      const disclosed = isDeviceView ? new Set<string>() : new Set(notices.map((n) => n.patientId));
      await auditListRead(request, 'data-quality.list', 'DataQualityNotice', disclosed);
      return {
        notices: notices.map((n) => ({
          id: n.id,
          device: n.deviceId,
          patient: isDeviceView ? null : n.patientId,
          issue: n.issue,
          first: new Date(n.firstMs).toISOString(),
          last: new Date(n.lastMs).toISOString(),
          questionableReadings: n.count,
          cleared: iso(n.clearedMs),
        })),
      };
    },
  );
}
