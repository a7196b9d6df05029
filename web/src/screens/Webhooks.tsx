import { type FormEvent, useState } from 'react';
import {
  useCreateWebhook,
  useDeleteWebhook,
  useWebhookDeliveries,
  useWebhooks,
  type Webhook,
  type WebhookDelivery,
} from '../api/webhooks.ts';
import { ConfirmButton } from '../components/ConfirmButton.tsx';
import { OneTimeSecret } from '../components/OneTimeSecret.tsx';
import { ErrorLine, FormError, QueryNotice } from '../components/QueryNotice.tsx';
import { StatusChip } from '../components/StatusChip.tsx';
import { exactTime } from '../lib/time.ts';
import { WEBHOOK_EVENTS, type WebhookEvent } from '../lib/webhook-events.ts';
import { subscriptionState } from '../lib/webhook-state.ts';
import { WebhookDeliveries } from './WebhookDeliveries.tsx';
import '../webhooks.css';

interface Shown {
  url: string;
  secret: string;
}

const NONE: readonly WebhookDelivery[] = [];

/**
 * Where alert and device events leave the system: signed POSTs to other systems (Standard
 * Webhooks). Administrators subscribe, remove and retry; security officers look (webhooks:read).
 */
export function Webhooks(props: { canWrite: boolean }) {
  const webhooks = useWebhooks();
  const recent = useWebhookDeliveries('recent');
  const dead = useWebhookDeliveries('dead');
  const [shown, setShown] = useState<Shown | null>(null);
  const [picked, setPicked] = useState<string | null>(null);
  const list = webhooks.data?.webhooks ?? [];
  const recentList = recent.data?.deliveries ?? NONE;
  const deadList = dead.data?.deliveries ?? NONE;
  // The picked subscription, or the first one (also once the picked one is deleted).
  const selected = list.find((w) => w.id === picked) ?? list[0];
  return (
    <section aria-labelledby="webhooks-title">
      <h1 id="webhooks-title">Webhooks</h1>
      <p className="wh-intro">
        Vigil posts alert and device events to these URLs, signed with each subscription’s secret. Payloads
        carry ids, times and a link to sign in, never a patient’s values.
      </p>
      {!props.canWrite && (
        <p className="notice">
          Your role may look at webhooks; an administrator subscribes, removes and retries.
        </p>
      )}
      {shown && (
        <OneTimeSecret label="Signing secret" value={shown.secret} onDone={() => setShown(null)}>
          <p>
            For <strong className="wh-url">{shown.url}</strong>: the receiver checks each delivery’s{' '}
            <code>webhook-signature</code> header with it. Vigil keeps it sealed; to change it, delete the
            webhook and subscribe again.
          </p>
        </OneTimeSecret>
      )}
      {props.canWrite && <CreateWebhook onCreated={setShown} />}
      <QueryNotice isPending={webhooks.isPending} error={webhooks.error} what="webhooks" />
      {webhooks.isSuccess && list.length === 0 && (
        <p className="notice">No webhooks yet: no event leaves Vigil this way.</p>
      )}
      {list.length > 0 && (
        <table className="data" aria-label="Webhook subscriptions">
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Events</th>
              <th scope="col">Created</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.map((w) => (
              <WebhookRow
                key={w.id}
                webhook={w}
                recent={recentList}
                dead={deadList}
                isSelected={w.id === selected?.id}
                canWrite={props.canWrite}
                onPick={() => setPicked(w.id)}
              />
            ))}
          </tbody>
        </table>
      )}
      {selected && <WebhookDeliveries webhook={selected} canWrite={props.canWrite} />}
    </section>
  );
}

function CreateWebhook(props: { onCreated: (s: Shown) => void }) {
  const create = useCreateWebhook();
  const [formError, setFormError] = useState<string | null>(null);
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    const url = String(data.get('url') ?? '').trim();
    const description = String(data.get('description') ?? '').trim();
    const chosen = new Set(data.getAll('event').map(String));
    const events = WEBHOOK_EVENTS.filter((ev) => chosen.has(ev));
    if (events.length === 0) return setFormError('Choose at least one event to send.');
    setFormError(null);
    create.mutate(
      { url, events, ...(description ? { description } : {}) },
      {
        onSuccess: (r) => {
          form.reset();
          props.onCreated({ url: r.webhook.url, secret: r.secret });
        },
      },
    );
  };
  return (
    <form className="adm-form" onSubmit={onSubmit} aria-label="Subscribe a URL">
      <h2>Subscribe a URL</h2>
      <fieldset>
        <legend>Events</legend>
        {WEBHOOK_EVENTS.map((ev: WebhookEvent) => (
          <label key={ev}>
            <input type="checkbox" name="event" value={ev} /> {ev}
          </label>
        ))}
      </fieldset>
      <div className="adm-fields">
        <label className="adm-wide">
          URL (https://)
          <input name="url" type="url" required maxLength={2048} autoComplete="off" />
        </label>
        <label className="adm-wide">
          Description (optional)
          <input name="description" maxLength={200} autoComplete="off" />
        </label>
        <button type="submit" disabled={create.isPending}>
          Subscribe
        </button>
      </div>
      <FormError message={formError} />
      <ErrorLine error={create.error} />
    </form>
  );
}

function WebhookRow(props: {
  webhook: Webhook;
  recent: readonly WebhookDelivery[];
  dead: readonly WebhookDelivery[];
  isSelected: boolean;
  canWrite: boolean;
  onPick: () => void;
}) {
  const w = props.webhook;
  const remove = useDeleteWebhook();
  const state = subscriptionState(w.id, props.recent, props.dead);
  return (
    <tr className={props.isSelected ? 'wh-selected' : undefined}>
      <th scope="row" className="wh-url-cell">
        <span className="wh-url">{w.url}</span>
        {w.description && <div className="muted">{w.description}</div>}
      </th>
      <td>
        <ul className="wh-events" aria-label={`Events sent to ${w.url}`}>
          {w.events.map((ev) => (
            <li key={ev}>
              <code>{ev}</code>
            </li>
          ))}
        </ul>
      </td>
      <td>
        <time dateTime={w.created}>{exactTime(w.created)}</time>
        <div className="muted">by {w.createdBy}</div>
      </td>
      <td>
        <StatusChip tone={state.tone} label={state.label} />
      </td>
      <td>
        <span className="adm-actions">
          <button
            type="button"
            // Filled while its deliveries are the ones shown below; outlined otherwise.
            className={props.isSelected ? undefined : 'link'}
            aria-pressed={props.isSelected}
            onClick={props.onPick}
          >
            Deliveries <span className="sr-only">to {w.url}</span>
          </button>
          {props.canWrite && (
            <ConfirmButton
              label="Delete"
              confirmLabel="Confirm delete"
              target={w.url}
              danger
              disabled={remove.isPending}
              onConfirm={() => remove.mutate(w.id)}
            />
          )}
        </span>
        <ErrorLine error={remove.error} />
      </td>
    </tr>
  );
}
