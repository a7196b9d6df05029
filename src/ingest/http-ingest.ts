import type { TLSSocket } from 'node:tls';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { SecurityEvents } from '../detection/security-events.ts';
import type { DeviceDirectory } from '../devices/device-directory.ts';
import { identifyDevice } from '../devices/device-identity.ts';
import { type ErrorCode, isVigilError, VigilError } from '../errors/catalogue.ts';
import { ID_PATTERN, isValidId } from '../errors/ids.ts';
import type { App } from '../server/http.ts';
import type { IngestPipeline } from './pipeline.ts';

export interface HttpIngestDeps {
  pipeline: IngestPipeline;
  directory: DeviceDirectory;
  events: SecurityEvents;
  maxPayloadBytes: number;
}

/**
 * POST /api/v1/devices/{id}/telemetry: the same payload and guarantees as MQTT. The client
 * certificate identifies the device; a 2xx goes out only after the readings are committed.
 *
 * The device is identified from the TLS session before the body is read, and every refusal,
 * including those Fastify makes before the handler (body over the limit, bad id in the path),
 * is a security event, as the same refusal over MQTT is.
 */
export async function registerHttpIngest(app: App, deps: HttpIngestDeps): Promise<void> {
  const identified = new WeakMap<FastifyRequest, string>();
  await app.register(async (plain) => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    // The pipeline decodes the raw bytes itself, exactly as for MQTT.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: deps.maxPayloadBytes },
      (_req, body, done) => done(null, body),
    );
    // A device without a good certificate (or a quarantined one) is refused whatever it sends,
    // and its refusal names it, not the size of a body it was never allowed to send.
    scope.addHook('onRequest', async (request) => {
      identified.set(request, identifyDevice(request.raw.socket as TLSSocket, deps.directory));
    });
    scope.addHook('onError', async (request, _reply, error) => {
      const refusal = refusalOf(error, deps.maxPayloadBytes);
      if (refusal === undefined) return;
      deps.events.record({
        ...refusal,
        deviceId: identified.get(request) ?? claimedDeviceId(request) ?? pathDeviceId(request),
        remoteAddress: request.raw.socket.remoteAddress,
      });
    });
    scope.post(
      '/api/v1/devices/:id/telemetry',
      {
        config: { access: { device: true } },
        schema: {
          summary: 'Device telemetry over HTTPS with the device client certificate',
          params: Type.Object({ id: Type.String({ pattern: ID_PATTERN.source, maxLength: 64 }) }),
          response: { 201: Type.Object({ stored: Type.Integer(), duplicate: Type.Boolean() }) },
        },
      },
      async (request, reply) => {
        const deviceId = identified.get(request);
        if (deviceId === undefined)
          throw new Error('telemetry reached its handler without an identified device');
        if (deviceId !== request.params.id) {
          throw new VigilError(
            'VIGIL_ERR_MQTT_TOPIC_DENIED',
            `device ${deviceId} may not post telemetry for ${request.params.id}`,
          );
        }
        // Without a body (and a Content-Type) Fastify hands over undefined, not an empty buffer.
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const outcome = await deps.pipeline.accept(deviceId, body, 'http');
        return reply
          .code(201)
          .send(
            'duplicate' in outcome
              ? { stored: 0, duplicate: true }
              : { stored: outcome.stored, duplicate: false },
          );
      },
    );
  });
}

/**
 * The security event for a refused request, or undefined for a failure that is the server's
 * (storage, a bug): those are logged as errors, not held against the device.
 */
function refusalOf(error: unknown, maxPayloadBytes: number): { code: ErrorCode; detail: string } | undefined {
  if (isVigilError(error)) {
    return error.code === 'VIGIL_ERR_INGEST_STORE_FAILED' || error.status >= 500 ? undefined : error;
  }
  const e = error as { code?: unknown; statusCode?: unknown; message?: unknown };
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return {
      code: 'VIGIL_ERR_INGEST_TOO_LARGE',
      detail: `request body over the ${maxPayloadBytes}-byte limit`,
    };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { code: 'VIGIL_ERR_REQUEST_INVALID', detail: String(e.message ?? 'bad request').slice(0, 300) };
  }
  return undefined;
}

/** The device the certificate names, when identification itself was what failed. */
function claimedDeviceId(request: FastifyRequest): string | undefined {
  const cn = (request.raw.socket as TLSSocket).getPeerCertificate()?.subject?.CN;
  return typeof cn === 'string' && isValidId(cn) ? cn : undefined;
}

/** The device a client without a certificate posted for; a malformed id is not recorded. */
function pathDeviceId(request: FastifyRequest): string | undefined {
  const { id } = request.params as { id?: unknown };
  return typeof id === 'string' && isValidId(id) ? id : undefined;
}
