/**
 * Posture HTTP API under /api/v1/posture: the inventory, SBOM and advisory import, and the
 * report in four formats. Reading needs posture:read, changing needs posture:write (admin and
 * security roles). Changes are audited; reports carry no patient data.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { AuditLog } from '../audit/audit-log.ts';
import { VigilError } from '../errors/catalogue.ts';
import { ID_PATTERN } from '../errors/ids.ts';
import { type App, actorOf } from '../server/http.ts';
import { parseAdvisoryFile } from './advisory-files.ts';
import type { PostureStore } from './posture.store.ts';
import { importSbom, modelFrom, postureReport } from './posture-service.ts';
import { CONTENT_TYPES, HTML_REPORT_CSP, REPORT_FORMATS, renderReport } from './report-render.ts';
import { AUTHENTICATIONS, CRITICALITIES, ENCRYPTIONS, PATCHABILITIES, ZONES } from './types.ts';

export interface PostureRouteDeps {
  posture: PostureStore;
  audit: AuditLog;
}

const literalUnion = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

const ModelBody = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 128 }),
    manufacturer: Type.String({ minLength: 1, maxLength: 128 }),
    deviceClass: Type.String({ minLength: 1, maxLength: 64 }),
    criticality: literalUnion(CRITICALITIES),
    endOfSupport: Type.Optional(
      Type.Union([Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }), Type.Null()]),
    ),
    encryption: literalUnion(ENCRYPTIONS),
    authentication: literalUnion(AUTHENTICATIONS),
    patchability: literalUnion(PATCHABILITIES),
  },
  { additionalProperties: false },
);

export function registerPostureRoutes(app: App, deps: PostureRouteDeps): void {
  app.get(
    '/api/v1/posture/models',
    {
      config: { access: { permission: 'posture:read' } },
      schema: { summary: 'Device models in the posture inventory', security: [{ bearer: [] }] },
    },
    async () => ({ models: await deps.posture.models() }),
  );

  app.put(
    '/api/v1/posture/models',
    {
      config: { access: { permission: 'posture:write' } },
      schema: {
        summary: 'Add or update a device model (MDS2-style capabilities)',
        security: [{ bearer: [] }],
        body: ModelBody,
      },
    },
    async (request) => {
      const body = request.body as Static<typeof ModelBody>;
      const outcome = await deps.posture.upsertModel(modelFrom(body));
      await deps.audit.append({
        actor: actorOf(request),
        action: 'posture.model.put',
        resource: `DeviceModel/${body.model}`,
        outcome: 'success',
      });
      return { model: body.model, outcome };
    },
  );

  app.put(
    '/api/v1/posture/devices/:id/profile',
    {
      config: { access: { permission: 'posture:write' } },
      schema: {
        summary: "Record a device's network zone, connection security and internet reachability",
        security: [{ bearer: [] }],
        params: Type.Object({ id: Type.String({ pattern: ID_PATTERN.source, maxLength: 64 }) }),
        body: Type.Object(
          {
            zone: literalUnion(ZONES),
            connection: Type.Union([Type.Literal('mtls'), Type.Literal('legacy')]),
            internetReachable: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const body = request.body as {
        zone: (typeof ZONES)[number];
        connection: 'mtls' | 'legacy';
        internetReachable?: boolean;
      };
      const known = (await deps.posture.inventory()).some((d) => d.id === id);
      if (!known) throw new VigilError('VIGIL_ERR_DEVICE_UNKNOWN', `device ${id} is not registered`);
      await deps.posture.setProfile({
        deviceId: id,
        zone: body.zone,
        connection: body.connection,
        internetReachable: body.internetReachable ?? false,
      });
      await deps.audit.append({
        actor: actorOf(request),
        action: 'posture.profile.put',
        resource: `Device/${id}`,
        outcome: 'success',
      });
      return {
        id,
        zone: body.zone,
        connection: body.connection,
        internetReachable: body.internetReachable ?? false,
      };
    },
  );

  app.post(
    '/api/v1/posture/sboms',
    {
      config: { access: { permission: 'posture:write' } },
      // Large SBOMs: up to 10 MiB through the API; the CLI takes bigger files.
      bodyLimit: 10 * 1024 * 1024,
      schema: {
        summary:
          'Import an SBOM (CycloneDX 1.4-1.6 JSON/XML or SPDX 2.3 JSON) for a model and firmware version',
        security: [{ bearer: [] }],
        body: Type.Object(
          {
            model: Type.String({ minLength: 1, maxLength: 128 }),
            firmware: Type.String({ minLength: 1, maxLength: 64 }),
            document: Type.String({ minLength: 1 }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const body = request.body as { model: string; firmware: string; document: string };
      const result = await importSbom(deps.posture, { ...body, text: body.document, source: 'SBOM' });
      await deps.audit.append({
        actor: actorOf(request),
        action: 'posture.sbom.import',
        resource: `Sbom/${body.model}@${body.firmware}`,
        outcome: 'success',
      });
      return result;
    },
  );

  app.post(
    '/api/v1/posture/advisories',
    {
      config: { access: { permission: 'posture:write' } },
      bodyLimit: 10 * 1024 * 1024,
      schema: {
        summary:
          'Import one advisory document: OSV, CSAF 2.0, KEV catalog, EPSS CSV or a Vigil advisory typed in by hand',
        security: [{ bearer: [] }],
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^/\\\\]+$' }),
            document: Type.String({ minLength: 1 }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const body = request.body as { name: string; document: string };
      const parsed = parseAdvisoryFile(body.document, body.name);
      const result = {
        kind: parsed.kind,
        advisories: await deps.posture.putAdvisories(parsed.advisories),
        kev: await deps.posture.putKev(parsed.kev),
        epss: await deps.posture.putEpss(parsed.epss),
        vex: await deps.posture.putVex(parsed.vex),
      };
      await deps.audit.append({
        actor: actorOf(request),
        action: 'posture.advisories.import',
        resource: `AdvisoryFile/${body.name}`,
        outcome: 'success',
      });
      return result;
    },
  );

  app.get(
    '/api/v1/posture/devices',
    {
      config: { access: { permission: 'posture:read' } },
      schema: {
        summary: 'Posture per device: inventory, risk with its parts, findings and what to do',
        security: [{ bearer: [] }],
      },
    },
    async () => {
      const report = await postureReport(deps.posture);
      return { generatedAt: report.generatedAt, devices: report.devices };
    },
  );

  app.get(
    '/api/v1/posture/devices/:id',
    {
      config: { access: { permission: 'posture:read' } },
      schema: {
        summary: "One device's posture and findings",
        security: [{ bearer: [] }],
        params: Type.Object({ id: Type.String({ pattern: ID_PATTERN.source, maxLength: 64 }) }),
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const device = (await postureReport(deps.posture)).devices.find((d) => d.id === id);
      if (!device) throw new VigilError('VIGIL_ERR_DEVICE_UNKNOWN', `device ${id} is not registered`);
      return device;
    },
  );

  app.get(
    '/api/v1/posture/report',
    {
      config: { access: { permission: 'posture:read' } },
      schema: {
        summary: 'The fleet posture report as JSON, Markdown, HTML or CSV',
        security: [{ bearer: [] }],
        querystring: Type.Object(
          { format: Type.Optional(literalUnion(REPORT_FORMATS)) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const format = (request.query as { format?: (typeof REPORT_FORMATS)[number] }).format ?? 'json';
      const report = await postureReport(deps.posture);
      await deps.audit.append({
        actor: actorOf(request),
        action: 'posture.report',
        resource: 'PostureReport',
        outcome: 'success',
      });
      if (format === 'html') void reply.header('content-security-policy', HTML_REPORT_CSP);
      return reply.type(CONTENT_TYPES[format]).send(renderReport(report, format));
    },
  );
}
