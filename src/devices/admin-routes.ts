import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ID_PATTERN } from '../errors/ids.ts';
import { type App, actorOf } from '../server/http.ts';
import type { DeviceAdmin, OneTimeToken, Who } from './device-admin.ts';
import { Device, toDeviceView } from './routes.ts';

const Id = Type.String({ pattern: ID_PATTERN.source, maxLength: 64 });
const Params = Type.Object({ id: Id });
const Enrollment = Type.Object({ token: Type.String(), expires: Type.String({ format: 'date-time' }) });
const Certificate = Type.Object({
  serial: Type.String(),
  fingerprint: Type.String(),
  notBefore: Type.String({ format: 'date-time' }),
  notAfter: Type.String({ format: 'date-time' }),
  issued: Type.String({ format: 'date-time' }),
  revoked: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revokeReason: Type.Union([Type.String(), Type.Null()]),
});
const security = [{ bearer: [] }, { sessionCookie: [] }];

const iso = (ms: number) => new Date(ms).toISOString();
const who = (request: FastifyRequest): Who => ({ actor: actorOf(request), source: request.ip });
/** A one-time token is shown once: no proxy or browser cache may keep a copy of the answer. */
const oneTime = (reply: FastifyReply, t: OneTimeToken) => {
  void reply.header('cache-control', 'no-store');
  return { token: t.token, expires: iso(t.expiresAt) };
};

/** Device administration over HTTP: what `vigil device add / assign / token` do, plus revocation. */
export function registerDeviceAdminRoutes(app: App, admin: DeviceAdmin): void {
  app.get(
    '/api/v1/devices/:id',
    {
      config: { access: { permission: 'devices:read' } },
      schema: {
        summary: 'One device with its certificates and whether it is connected now',
        security,
        params: Params,
        response: {
          200: Type.Object({
            device: Device,
            certificates: Type.Array(Certificate),
            connected: Type.Boolean(),
          }),
        },
      },
    },
    async (request) => {
      const d = await admin.detail(request.params.id);
      return {
        device: toDeviceView(d.device),
        connected: d.connected,
        certificates: d.certificates.map((c) => ({
          serial: c.serial,
          fingerprint: c.fingerprint,
          notBefore: iso(c.notBefore),
          notAfter: iso(c.notAfter),
          issued: iso(c.issuedAt),
          revoked: c.revokedAt === null ? null : iso(c.revokedAt),
          revokeReason: c.revokeReason,
        })),
      };
    },
  );

  app.post(
    '/api/v1/devices',
    {
      config: { access: { permission: 'devices:write' } },
      schema: {
        summary: 'Register a device (optionally assigned to a patient) and get its one-time enrollment token',
        security,
        body: Type.Object(
          {
            id: Id,
            model: Type.String({ minLength: 1, maxLength: 128 }),
            serial: Type.String({ minLength: 1, maxLength: 128 }),
            patientId: Type.Optional(Id),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ device: Device, enrollment: Enrollment }) },
      },
    },
    async (request, reply) => {
      const r = await admin.add(request.body, who(request));
      const enrollment = oneTime(reply, r.enrollment);
      return reply.code(201).send({ device: toDeviceView(r.device), enrollment });
    },
  );

  app.post(
    '/api/v1/devices/:id/enrollment-token',
    {
      config: { access: { permission: 'devices:write' } },
      schema: {
        summary:
          'A new one-time enrollment token (re-enrolment); the current certificate works until replaced or revoked',
        security,
        params: Params,
        response: { 201: Enrollment },
      },
    },
    async (request, reply) => {
      const t = await admin.newEnrollmentToken(request.params.id, who(request));
      return reply.code(201).send(oneTime(reply, t));
    },
  );

  app.post(
    '/api/v1/devices/:id/revoke',
    {
      config: { access: { permission: 'devices:write' } },
      schema: {
        summary: "Revoke the device's certificates: disconnected now, refused until it enrols again",
        security,
        params: Params,
        body: Type.Object(
          { reason: Type.String({ minLength: 3, maxLength: 500 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ id: Type.String(), revokedCertificates: Type.Integer() }) },
      },
    },
    async (request) => {
      const { revoked } = await admin.revoke(request.params.id, request.body.reason, who(request));
      return { id: request.params.id, revokedCertificates: revoked };
    },
  );

  app.put(
    '/api/v1/devices/:id/patient',
    {
      config: { access: { permission: 'devices:write' } },
      schema: {
        summary: 'The device measures this patient from now (or from `from`) on',
        security,
        params: Params,
        body: Type.Object(
          { patientId: Id, from: Type.Optional(Type.String({ format: 'date-time' })) },
          { additionalProperties: false },
        ),
        response: { 200: Device },
      },
    },
    async (request) => {
      const { patientId, from } = request.body;
      const fromMs = from === undefined ? undefined : Date.parse(from);
      return toDeviceView(await admin.assign(request.params.id, patientId, fromMs, who(request)));
    },
  );
}
