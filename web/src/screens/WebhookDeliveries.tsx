import {
  useRetryDelivery,
  useWebhookDeliveries,
  type Webhook,
  type WebhookDelivery,
} from '../api/webhooks.ts';
import { ErrorLine, QueryNotice } from '../components/QueryNotice.tsx';
import { StatusChip } from '../components/StatusChip.tsx';
import { exactTime } from '../lib/time.ts';
import { deliveryOutcome } from '../lib/webhook-state.ts';

/** Enough to see whether a receiver is answering, short enough to read at a glance. */
const RECENT_SHOWN = 20;

function When(props: { iso: string }) {
  return <time dateTime={props.iso}>{exactTime(props.iso)}</time>;
}

/** What went wrong last, in the server's words, else the receiver's HTTP status. */
function lastProblem(d: WebhookDelivery): string | null {
  return (
    d.lastError ?? (d.lastStatus !== null && d.state !== 'delivered' ? `answered ${d.lastStatus}` : null)
  );
}

/** One subscription's dead letters (each may be sent again) and its newest deliveries. */
export function WebhookDeliveries(props: { webhook: Webhook; canWrite: boolean }) {
  const w = props.webhook;
  const recent = useWebhookDeliveries('recent');
  const dead = useWebhookDeliveries('dead');
  const mine = (q: typeof recent) => (q.data?.deliveries ?? []).filter((d) => d.webhook === w.id);
  const deadLetters = mine(dead);
  const newest = mine(recent).slice(0, RECENT_SHOWN);
  return (
    <section className="wh-panel" aria-labelledby="wh-deliveries-title">
      <h2 id="wh-deliveries-title">
        Deliveries to <span className="wh-url">{w.url}</span>
      </h2>
      <h3>Dead letters</h3>
      <QueryNotice
        isPending={dead.isPending}
        error={dead.error}
        failureReason={dead.failureReason}
        isPolling
        what="dead letters"
      />
      {dead.isSuccess && deadLetters.length === 0 && (
        <p className="muted">None: every delivery to this URL went through or is still being tried.</p>
      )}
      {deadLetters.length > 0 && (
        <table className="data" aria-label={`Dead letters to ${w.url}`}>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last error</th>
              <th scope="col">Given up</th>
              {props.canWrite && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {deadLetters.map((d) => (
              <DeadLetterRow key={d.id} delivery={d} canWrite={props.canWrite} />
            ))}
          </tbody>
        </table>
      )}
      <h3>Recent deliveries</h3>
      <QueryNotice
        isPending={recent.isPending}
        error={recent.error}
        failureReason={recent.failureReason}
        isPolling
        what="deliveries"
      />
      {recent.isSuccess && newest.length === 0 && (
        <p className="muted">None yet: a delivery is queued when a subscribed event happens.</p>
      )}
      {newest.length > 0 && (
        <table className="data" aria-label={`Recent deliveries to ${w.url}`}>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Outcome</th>
              <th scope="col">Attempts</th>
              <th scope="col">Next attempt / last error</th>
              <th scope="col">Queued at</th>
            </tr>
          </thead>
          <tbody>
            {newest.map((d) => (
              <DeliveryRow key={d.id} delivery={d} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The event, and the id every attempt carried as `webhook-id` (what the receiver logged). */
function EventCell(props: { delivery: WebhookDelivery }) {
  return (
    <th scope="row">
      {props.delivery.event}
      <div className="muted wh-id">{props.delivery.id}</div>
    </th>
  );
}

function DeliveryRow(props: { delivery: WebhookDelivery }) {
  const d = props.delivery;
  const outcome = deliveryOutcome(d);
  const problem = lastProblem(d);
  return (
    <tr>
      <EventCell delivery={d} />
      <td>
        <StatusChip tone={outcome.tone} label={outcome.label} />
      </td>
      <td>{d.attempts}</td>
      <td className="wh-detail">
        {d.state === 'pending' && d.nextAttempt && (
          <div>
            Next attempt <When iso={d.nextAttempt} />
          </div>
        )}
        {d.state === 'delivered' && <span className="muted">answered {d.lastStatus ?? 'OK'}</span>}
        {problem && <div>{problem}</div>}
      </td>
      <td>
        <When iso={d.created} />
      </td>
    </tr>
  );
}

function DeadLetterRow(props: { delivery: WebhookDelivery; canWrite: boolean }) {
  const d = props.delivery;
  const retry = useRetryDelivery();
  return (
    <tr>
      <EventCell delivery={d} />
      <td>{d.attempts}</td>
      <td className="wh-detail">{lastProblem(d) ?? 'unknown'}</td>
      <td>
        <When iso={d.updated} />
      </td>
      {props.canWrite && (
        <td>
          <button type="button" disabled={retry.isPending} onClick={() => retry.mutate(d.id)}>
            Retry{' '}
            <span className="sr-only">
              {d.event} {d.id}
            </span>
          </button>
          <ErrorLine error={retry.error} />
        </td>
      )}
    </tr>
  );
}
