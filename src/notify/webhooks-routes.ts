import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { AuditInput } from '../audit/audit-log.ts';
import { VigilError } from '../errors/catalogue.ts';
import { type App, actorOf } from '../server/http.ts';
import type { Delivery, Webhook, WebhookStore } from './webhooks.store.ts';
import type { WebhookDispatcher } from './webhooks-dispatcher.ts';
import { WEBHOOK_EVENTS } from './webhooks-events.ts';
import { newWebhookSecret } from './webhooks-signature.ts';
import { parseWebhookUrl, type WebhookUrlPolicy } from './webhooks-url.ts';

export interface WebhookRouteDeps {
  store: WebhookStore;
  dispatcher: WebhookDispatcher;
  audit: { append(input: AuditInput): Promise<void> };
  policy: WebhookUrlPolicy;
}

const security = [{ bearer: [] }, { sessionCookie: [] }];
const WebhookId = Type.String({ pattern: '^wh_[0-9a-f]{16}$' });
const DeliveryId = Type.String({ pattern: '^msg_[0-9a-f]{24}$' });
const EventSchema = Type.Union(WEBHOOK_EVENTS.map((e) => Type.Literal(e)));
const WebhookView = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  description: Type.String(),
  createdBy: Type.String(),
  created: Type.String(),
});
const DeliveryView = Type.Object({
  id: Type.String(),
  webhook: Type.String(),
  event: Type.String(),
  state: Type.String(),
  attempts: Type.Integer(),
  nextAttempt: Type.Union([Type.String(), Type.Null()]),
  lastStatus: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  created: Type.String(),
  updated: Type.String(),
});

const view = (w: Webhook) => ({
  id: w.id,
  url: w.url,
  events: w.events,
  description: w.description,
  createdBy: w.createdBy,
  created: new Date(w.createdMs).toISOString(),
});
const deliveryView = (d: Delivery) => ({
  id: d.id,
  webhook: d.webhookId,
  event: d.eventType,
  state: d.state,
  attempts: d.attempts,
  nextAttempt: d.state === 'pending' ? new Date(d.nextAttemptMs).toISOString() : null,
  lastStatus: d.lastStatus,
  lastError: d.lastError,
  created: new Date(d.createdMs).toISOString(),
  updated: new Date(d.updatedMs).toISOString(),
});

/** Outbound webhook administration (issue 3, item 7). Every change is audited. */
export function registerWebhookRoutes(app: App, deps: WebhookRouteDeps): void {
  const { store, dispatcher } = deps;
  const audit = (request: FastifyRequest, action: string, resource: string) =>
    deps.audit.append({
      actor: actorOf(request),
      action,
      resource,
      outcome: 'success',
      source: request.ip,
    });

  app.post(
    '/api/v1/webhooks',
    {
      config: { access: { permission: 'webhooks:write' } },
      schema: {
        summary: 'Subscribe a URL to events; the signing secret is returned once, then kept sealed',
        security,
        body: Type.Object(
          {
            url: Type.String({ maxLength: 2048 }),
            events: Type.Array(EventSchema, {
              minItems: 1,
              maxItems: WEBHOOK_EVENTS.length,
              uniqueItems: true,
            }),
            description: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ webhook: WebhookView, secret: Type.String() }) },
      },
    },
    async (request, reply) => {
      const url = parseWebhookUrl(request.body.url, deps.policy);
      const secret = newWebhookSecret();
      const webhook = await store.create({
        url,
        events: request.body.events,
        description: request.body.description ?? '',
        createdBy: actorOf(request),
        secret,
        nowMs: Date.now(),
      });
      await audit(request, 'webhook.create', `Webhook/${webhook.id}`);
      reply.header('cache-control', 'no-store');
      return reply.code(201).send({ webhook: view(webhook), secret });
    },
  );

  app.get(
    '/api/v1/webhooks',
    {
      config: { access: { permission: 'webhooks:read' } },
      schema: {
        summary: 'List webhook subscriptions (never their secrets)',
        security,
        response: { 200: Type.Object({ webhooks: Type.Array(WebhookView) }) },
      },
    },
    async () => ({ webhooks: (await store.list()).map(view) }),
  );

  app.delete(
    '/api/v1/webhooks/:id',
    {
      config: { access: { permission: 'webhooks:write' } },
      schema: {
        summary: 'Remove a subscription, its secret and its queued deliveries',
        security,
        params: Type.Object({ id: WebhookId }),
        response: { 200: Type.Object({ deleted: Type.String() }) },
      },
    },
    async (request) => {
      if (!(await store.delete(request.params.id))) {
        throw new VigilError('VIGIL_ERR_WEBHOOK_UNKNOWN', `no webhook ${request.params.id}`);
      }
      await audit(request, 'webhook.delete', `Webhook/${request.params.id}`);
      return { deleted: request.params.id };
    },
  );

  app.get(
    '/api/v1/webhooks/deliveries',
    {
      config: { access: { permission: 'webhooks:read' } },
      schema: {
        summary:
          'Recent deliveries, newest first; state=dead is the dead-letter list, state=withheld the alert events not sent because their patient was erased or withdrew consent',
        security,
        querystring: Type.Object(
          {
            state: Type.Optional(
              Type.Union([
                Type.Literal('pending'),
                Type.Literal('delivered'),
                Type.Literal('dead'),
                Type.Literal('withheld'),
              ]),
            ),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ deliveries: Type.Array(DeliveryView) }) },
      },
    },
    async (request) => {
      const { state, limit } = request.query;
      const rows = await store.deliveries({ ...(state ? { state } : {}), limit: limit ?? 100 });
      return { deliveries: rows.map(deliveryView) };
    },
  );

  app.post(
    '/api/v1/webhooks/deliveries/:id/retry',
    {
      config: { access: { permission: 'webhooks:write' } },
      schema: {
        summary: 'Put a dead-lettered delivery back in the queue (same webhook-id, fresh attempts)',
        security,
        params: Type.Object({ id: DeliveryId }),
        response: { 200: DeliveryView },
      },
    },
    async (request) => {
      const delivery = await store.retry(request.params.id, Date.now());
      await audit(request, 'webhook.delivery.retry', `WebhookDelivery/${delivery.id}`);
      dispatcher.kick();
      return deliveryView(delivery);
    },
  );
}
