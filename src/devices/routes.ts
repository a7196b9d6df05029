import type { TLSSocket } from 'node:tls';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/audit-log.ts';
import type { SecurityEvents } from '../detection/security-events.ts';
import { isVigilError, VigilError } from '../errors/catalogue.ts';
import { ID_PATTERN } from '../errors/ids.ts';
import { crlToPem, normalizeSerial } from '../pki/index.ts';
import { type App, actorOf } from '../server/http.ts';
import { sourceNetworkOf } from '../server/source-network.ts';
import type { DeviceDirectory } from './device-directory.ts';
import { identifyDevice } from './device-identity.ts';
import type { DeviceRow, DeviceStore } from './devices.store.ts';
import { type EnrollAttempt, EnrollThrottle, OVERFLOW_KEY } from './enroll-throttle.ts';
import type { Enrollment } from './enrollment.ts';
import type { OcspResponder } from './ocsp-responder.ts';
import { registerOcspRoutes } from './ocsp-routes.ts';
import { CRL_PATH, type RevocationList } from './revocation-list.ts';

export interface DeviceRouteDeps {
  devices: DeviceStore;
  enrollment: Enrollment;
  audit: AuditLog;
  /** Quarantine takes effect at once: the live connection is closed and further data refused. */
  quarantine(deviceId: string, reason: string, actor: string): Promise<void>;
  release(deviceId: string, actor: string): Promise<void>;
  crl: RevocationList;
  /** Live answers about one certificate at a time, beside the CRL (RFC 6960). */
  ocsp: OcspResponder;
  /** Who a client certificate belongs to, for renewal. */
  directory: DeviceDirectory;
  events: SecurityEvents;
  /** Refused enrolments per source network and renewals per device; 10 a minute when not given. */
  enrollThrottle?: EnrollThrottle;
}

const DeviceId = Type.String({ pattern: ID_PATTERN.source, maxLength: 64 });
export const Device = Type.Object({
  id: Type.String(),
  model: Type.String(),
  serial: Type.String(),
  status: Type.String(),
  patientId: Type.Union([Type.String(), Type.Null()]),
  firmware: Type.Union([Type.String(), Type.Null()]),
  battery: Type.Union([Type.Number(), Type.Null()]),
  lastSeen: Type.Union([Type.String(), Type.Null()]),
  lastSeq: Type.Union([Type.Number(), Type.Null()]),
  certificateExpires: Type.Union([Type.String(), Type.Null()]),
  enrolled: Type.Boolean(),
  quarantineReason: Type.Union([Type.String(), Type.Null()]),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The API's view of a device (list, device page, enrolment answer). */
export const toDeviceView = (d: DeviceRow) => ({
  id: d.id,
  model: d.model,
  serial: d.serial,
  status: d.status,
  patientId: d.patientId,
  firmware: d.firmware,
  battery: d.battery,
  lastSeen: iso(d.lastSeenMs),
  lastSeq: d.lastSeq,
  certificateExpires: iso(d.certificateNotAfter),
  enrolled: d.enrolledAt !== null,
  quarantineReason: d.quarantineReason,
});

export function registerDeviceRoutes(app: App, deps: DeviceRouteDeps): void {
  /** Enrolment and renewal are open to devices without an account: every refusal is an event. */
  const refused = (e: unknown, socket: TLSSocket, deviceId?: string) => {
    if (isVigilError(e)) {
      deps.events.record({ code: e.code, detail: e.detail, deviceId, remoteAddress: socket.remoteAddress });
    }
    return e;
  };

  const throttle = deps.enrollThrottle ?? new EnrollThrottle();
  const attempts = new WeakMap<object, EnrollAttempt>();
  const { refusalsPerWindow, windowMs } = throttle.policy;
  const paused = `paused after ${refusalsPerWindow} refused or pending attempts in ${windowMs / 1000} s; further attempts are counted, not audited one by one`;

  /**
   * Counts the attempt before anything is done for it (the body is not even read yet), or
   * answers 429 while its key is paused. A paused key gets one audit entry per window, from the
   * first attempt turned away; every attempt turned away is a security event (the store keeps
   * repeats as one row with their count) and so counted in /metrics (vigil_refusals_total).
   */
  const admit = async (
    request: FastifyRequest,
    reply: FastifyReply,
    who: {
      key: string;
      resource: string;
      action: string;
      deviceId?: string;
      /** The address events name: a whole /64 for enrolment, which is paused as one. */
      eventAddress: string | undefined;
    },
  ): Promise<void> => {
    const answer = throttle.claim(who.key);
    if ('attempt' in answer) {
      attempts.set(request, answer.attempt);
      return;
    }
    const address = (request.raw.socket as TLSSocket).remoteAddress;
    const isOverflow = answer.key === OVERFLOW_KEY;
    if (answer.isFirstRefusal)
      await deps.audit.append({
        actor: 'system',
        action: who.action,
        resource: isOverflow ? 'Address/overflow' : who.resource,
        outcome: 'success',
        source: address,
      });
    deps.events.record({
      code: 'VIGIL_ERR_ENROLL_THROTTLED',
      // The store merges repeats of one code, address, device and detail: one row (and one with
      // the count) per paused key, whichever address of a /64 the attempts come from, and one
      // for all new sources while too many are counted.
      detail: isOverflow ? `enrolment from sources not yet counted ${paused}` : `${who.resource} ${paused}`,
      deviceId: who.deviceId,
      remoteAddress: isOverflow ? undefined : who.eventAddress,
    });
    const seconds = Math.max(1, Math.ceil(answer.retryAfterMs / 1000));
    void reply.header('retry-after', String(seconds));
    throw new VigilError(
      'VIGIL_ERR_ENROLL_THROTTLED',
      `${isOverflow ? 'new sources' : who.resource} made ${refusalsPerWindow} refused or pending attempts in ${windowMs / 1000} s; try again in ${seconds} s`,
    );
  };
  /** A certificate was issued: the attempt is taken back, so devices that enrol do not use up the limit. */
  const succeeded = (request: FastifyRequest) => {
    const attempt = attempts.get(request);
    if (attempt) throttle.release(attempt);
  };

  app.get(
    '/api/v1/devices',
    {
      config: { access: { permission: 'devices:read' } },
      schema: {
        summary: 'List devices',
        security: [{ bearer: [] }],
        response: { 200: Type.Object({ devices: Type.Array(Device) }) },
      },
    },
    async () => {
      const rows = await deps.devices.list();
      return { devices: rows.map(toDeviceView) };
    },
  );

  app.post(
    '/api/v1/devices/:id/quarantine',
    {
      config: { access: { permission: 'devices:quarantine' } },
      schema: {
        summary: 'Quarantine a device: disconnect it now and refuse it until released',
        security: [{ bearer: [] }],
        params: Type.Object({ id: DeviceId }),
        body: Type.Object(
          { reason: Type.String({ minLength: 3, maxLength: 500 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ id: Type.String(), status: Type.Literal('quarantined') }) },
      },
    },
    async (request) => {
      await deps.quarantine(request.params.id, request.body.reason, actorOf(request));
      return { id: request.params.id, status: 'quarantined' as const };
    },
  );

  app.delete(
    '/api/v1/devices/:id/quarantine',
    {
      config: { access: { permission: 'devices:quarantine' } },
      schema: {
        summary: 'Release a device from quarantine',
        security: [{ bearer: [] }],
        params: Type.Object({ id: DeviceId }),
        response: { 200: Type.Object({ id: Type.String(), status: Type.Literal('active') }) },
      },
    },
    async (request) => {
      await deps.release(request.params.id, actorOf(request));
      return { id: request.params.id, status: 'active' as const };
    },
  );

  app.post(
    '/api/v1/enroll',
    {
      config: { access: { public: true } },
      onRequest: async (request, reply) => {
        const network = sourceNetworkOf((request.raw.socket as TLSSocket).remoteAddress);
        await admit(request, reply, {
          key: `address:${network}`,
          resource: `Address/${network}`,
          action: 'device.enroll.throttle',
          eventAddress: network,
        });
      },
      schema: {
        summary: 'Enrol a device: one-time token + PKCS#10 CSR in, certificate and chain out (RFC 7030-like)',
        body: Type.Object(
          {
            deviceId: DeviceId,
            token: Type.String({ minLength: 8, maxLength: 200 }),
            csr: Type.String({ minLength: 100, maxLength: 8192 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ certificate: Type.String(), chain: Type.String() }) },
      },
    },
    async (request) => {
      const socket = request.raw.socket as TLSSocket;
      try {
        const issued = await deps.enrollment.enroll(request.body, socket.remoteAddress);
        succeeded(request);
        return issued;
      } catch (e) {
        // Guessed tokens and probed device ids are an attack's first steps: make them visible.
        throw refused(e, socket, request.body.deviceId);
      }
    },
  );

  // Who is renewing comes from the TLS session, before the body is parsed or validated: a
  // client without a good certificate gets 401 whatever it sent.
  const renewing = new WeakMap<object, string>();
  app.post(
    '/api/v1/enroll/renew',
    {
      config: { access: { device: true } },
      onRequest: async (request, reply) => {
        const socket = request.raw.socket as TLSSocket;
        let deviceId: string;
        try {
          deviceId = identifyDevice(socket, deps.directory);
        } catch (e) {
          throw refused(e, socket);
        }
        renewing.set(request, deviceId);
        // Refused renewals are audited too. The device is known here, so it is counted, not its
        // address: a device misbehaving behind a clinic's NAT does not hold up its neighbours.
        await admit(request, reply, {
          key: `device:${deviceId}`,
          resource: `Device/${deviceId}`,
          action: 'device.renew.throttle',
          deviceId,
          eventAddress: socket.remoteAddress,
        });
      },
      schema: {
        summary:
          'Renew a device certificate: the current client certificate and a CSR for a new key in, a new certificate out (RFC 7030 simplereenroll-like); the old one is revoked',
        body: Type.Object(
          { csr: Type.String({ minLength: 100, maxLength: 8192 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ certificate: Type.String(), chain: Type.String() }) },
      },
    },
    async (request) => {
      const socket = request.raw.socket as TLSSocket;
      const deviceId = renewing.get(request);
      const peer = socket.getPeerX509Certificate();
      if (deviceId === undefined || peer === undefined)
        throw new Error('renewal reached its handler without an identified device');
      const current = {
        deviceId,
        // The very certificate identified in onRequest: only it may be superseded.
        serial: normalizeSerial(peer.serialNumber),
        publicKey: peer.publicKey.export({ type: 'spki', format: 'der' }),
      };
      try {
        const issued = await deps.enrollment.renew(current, request.body.csr, socket.remoteAddress);
        succeeded(request);
        return issued;
      } catch (e) {
        throw refused(e, socket, deviceId);
      }
    },
  );

  // Public, as CRLs are (RFC 5280 §5): serials and dates of revoked device certificates, for
  // relying parties that cannot ask Vigil's database (an external broker's `crlfile`).
  app.get(
    CRL_PATH,
    {
      config: { access: { public: true } },
      schema: {
        summary:
          'The device CA revocation list: DER (application/pkix-crl), or PEM with format=pem (e.g. for Mosquitto crlfile)',
        querystring: Type.Object(
          { format: Type.Optional(Type.Union([Type.Literal('der'), Type.Literal('pem')])) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const crl = await deps.crl.get();
      reply
        .header('cache-control', 'public, max-age=300')
        .header('last-modified', new Date(crl.thisUpdateMs).toUTCString())
        .header('expires', new Date(crl.nextUpdateMs).toUTCString());
      if (request.query.format === 'pem') return reply.type('application/x-pem-file').send(crlToPem(crl.der));
      return reply.type('application/pkix-crl').send(crl.der);
    },
  );

  // The same facts per certificate, live: POST and GET /api/v1/pki/ocsp, public as the CRL.
  registerOcspRoutes(app, deps.ocsp);
}
