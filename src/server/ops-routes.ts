import { Type } from '@sinclair/typebox';
import type { Metrics } from '../observability/metrics.ts';
import type { App } from './http.ts';

const Health = Type.Object({ status: Type.String(), mqtt: Type.Boolean(), store: Type.Boolean() });

export function registerOpsRoutes(
  app: App,
  metrics: Metrics,
  health: () => { mqtt: boolean; store: boolean },
): void {
  app.get(
    '/healthz',
    {
      config: { access: { public: true } },
      schema: { summary: 'Liveness and readiness', response: { 200: Health, 503: Health } },
    },
    async (_request, reply) => {
      const h = health();
      const ok = h.mqtt && h.store;
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', ...h });
    },
  );
  app.get(
    '/metrics',
    {
      config: { access: { permission: 'metrics:read' } },
      schema: { summary: 'Prometheus metrics', security: [{ bearer: [] }] },
    },
    async (_request, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}
