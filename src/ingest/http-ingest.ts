import type { TLSSocket } from 'node:tls';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { SecurityEvents } from '../detection/security-events.ts';
import type { DeviceDirectory } from '../devices/device-directory.ts';
import { identifyDevice } from '../devices/device-identity.ts';
import { isVigilError, VigilError } from '../errors/catalogue.ts';
import { ID_PATTERN } from '../errors/ids.ts';
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
 */
export async function registerHttpIngest(app: App, deps: HttpIngestDeps): Promise<void> {
  await app.register(async (plain) => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    // The pipeline decodes the raw bytes itself, exactly as for MQTT.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: deps.maxPayloadBytes },
      (_req, body, done) => done(null, body),
    );
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
        const socket = request.raw.socket as TLSSocket;
        const remoteAddress = socket.remoteAddress;
        let deviceId: string | undefined;
        try {
          deviceId = identifyDevice(socket, deps.directory);
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
        } catch (e) {
          if (isVigilError(e) && e.code !== 'VIGIL_ERR_INGEST_STORE_FAILED') {
            deps.events.record({
              code: e.code,
              detail: e.detail,
              deviceId: deviceId ?? request.params.id,
              remoteAddress,
            });
          }
          throw e;
        }
      },
    );
  });
}
