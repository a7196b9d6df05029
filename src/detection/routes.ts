import { Type } from '@sinclair/typebox';
import type { App } from '../server/http.ts';
import type { SecurityEvents } from './security-events.ts';

export function registerSecurityRoutes(app: App, events: SecurityEvents): void {
  app.get(
    '/api/v1/security/events',
    {
      config: { access: { permission: 'security:read' } },
      schema: {
        summary: 'Security events, newest first',
        security: [{ bearer: [] }],
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
            device: Type.Optional(Type.String({ maxLength: 64 })),
            code: Type.Optional(Type.String({ pattern: '^VIGIL_ERR_[A-Z0-9_]+$' })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      await events.flush();
      const list = await events.list({
        limit: request.query.limit ?? 100,
        ...(request.query.device ? { deviceId: request.query.device } : {}),
        ...(request.query.code ? { code: request.query.code } : {}),
      });
      return { events: list.map((e) => ({ ...e, ts: new Date(e.ts).toISOString() })) };
    },
  );
}
