import type { WebhookDelivery } from '../api/webhooks.ts';
import type { Tone } from '../components/StatusChip.tsx';

export interface StateWords {
  tone: Tone;
  label: string;
}

/** One delivery's outcome in words: a pending one that has been tried is retrying, not queued. */
export function deliveryOutcome(d: Pick<WebhookDelivery, 'state' | 'attempts'>): StateWords {
  if (d.state === 'delivered') return { tone: 'ok', label: 'Delivered' };
  if (d.state === 'dead') return { tone: 'danger', label: 'Dead letter' };
  // Not sent on purpose: the patient was erased or withdrew consent after the event was queued.
  if (d.state === 'withheld') return { tone: 'muted', label: 'Withheld' };
  return d.attempts > 0 ? { tone: 'warning', label: 'Retrying' } : { tone: 'info', label: 'Queued' };
}

/**
 * A subscription's state, which the server does not store: read from its deliveries. Dead
 * letters come first, as they wait for a person (nothing sends them again on its own); else
 * the newest delivery says whether the receiver is answering.
 */
export function subscriptionState(
  webhookId: string,
  recent: readonly WebhookDelivery[],
  dead: readonly WebhookDelivery[],
): StateWords {
  const deadCount = dead.filter((d) => d.webhook === webhookId).length;
  if (deadCount > 0)
    return { tone: 'danger', label: deadCount === 1 ? '1 dead letter' : `${deadCount} dead letters` };
  const newest = recent.find((d) => d.webhook === webhookId);
  if (!newest) return { tone: 'muted', label: 'No deliveries yet' };
  if (newest.state === 'delivered') return { tone: 'ok', label: 'Receiving' };
  return deliveryOutcome(newest);
}
