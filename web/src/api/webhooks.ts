import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { WebhookEvent } from '../lib/webhook-events.ts';
import { api } from './client.ts';

/**
 * Reads and changes for the Webhooks screen (src/notify/webhooks-routes.ts). Subscriptions
 * change only when someone here acts; deliveries change on their own as the server sends and
 * retries, so those are polled.
 */

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  description: string;
  createdBy: string;
  created: string;
}

export type DeliveryState = 'pending' | 'delivered' | 'dead' | 'withheld';

export interface WebhookDelivery {
  /** Also the `webhook-id` header of every attempt: a receiver drops repeats by it. */
  id: string;
  webhook: string;
  event: string;
  state: DeliveryState;
  attempts: number;
  /** When the next attempt is due; set only while pending. */
  nextAttempt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  created: string;
  updated: string;
}

/** The newest deliveries looked at for "recent" (all subscriptions together, newest first). */
export const RECENT_DELIVERIES = 200;
/** The server's largest page: the whole dead-letter list, unless it has grown past this. */
export const DEAD_LETTERS = 500;
/** Deliveries move without anyone here acting: a retry is due, a receiver came back. */
const DELIVERIES_POLL_MS = 10_000;

const enc = encodeURIComponent;

function useChange<V, R>(run: (v: V) => Promise<R>, invalidates: string[][]) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: run,
    onSettled: () => Promise.all(invalidates.map((queryKey) => client.invalidateQueries({ queryKey }))),
  });
}

export function useWebhooks() {
  return useQuery({
    queryKey: ['webhooks'],
    queryFn: () => api<{ webhooks: Webhook[] }>('/api/v1/webhooks'),
  });
}

/** Recent deliveries (any state), or with `dead` the dead-letter list. */
export function useWebhookDeliveries(which: 'recent' | 'dead') {
  return useQuery({
    queryKey: ['webhook-deliveries', which],
    queryFn: () =>
      api<{ deliveries: WebhookDelivery[] }>(
        which === 'dead'
          ? `/api/v1/webhooks/deliveries?state=dead&limit=${DEAD_LETTERS}`
          : `/api/v1/webhooks/deliveries?limit=${RECENT_DELIVERIES}`,
      ),
    refetchInterval: DELIVERIES_POLL_MS,
  });
}

/** The signing secret is in this answer only; the server keeps it sealed from then on. */
export const useCreateWebhook = () =>
  useChange(
    (v: { url: string; events: WebhookEvent[]; description?: string }) =>
      api<{ webhook: Webhook; secret: string }>('/api/v1/webhooks', { method: 'POST', body: v }),
    [['webhooks']],
  );

/** Removes the subscription, its secret and its queued deliveries. */
export const useDeleteWebhook = () =>
  useChange(
    (id: string) => api<{ deleted: string }>(`/api/v1/webhooks/${enc(id)}`, { method: 'DELETE' }),
    [['webhooks'], ['webhook-deliveries']],
  );

/** A dead letter back in the queue: same webhook-id, fresh attempts. */
export const useRetryDelivery = () =>
  useChange(
    (id: string) => api<WebhookDelivery>(`/api/v1/webhooks/deliveries/${enc(id)}/retry`, { method: 'POST' }),
    [['webhook-deliveries']],
  );
