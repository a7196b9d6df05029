import { type FormEvent, useEffect, useState } from 'react';
import { useSecurityEvents } from '../api/queries.ts';
import { LiveIndicator } from '../components/LiveIndicator.tsx';
import { FormError, QueryNotice } from '../components/QueryNotice.tsx';
import { StatusChip, type Tone } from '../components/StatusChip.tsx';
import { exactTime } from '../lib/time.ts';

const SEVERITY_TONE: Record<string, Tone> = {
  high: 'danger',
  critical: 'danger',
  medium: 'warning',
  low: 'info',
};

/** Highest event id in a list (ids grow with time), or 0 for none. */
export const newestId = (events: readonly { id: number }[]): number =>
  events.reduce((max, e) => Math.max(max, e.id), 0);

/**
 * Refused inputs and security actions, newest first, filtered by code and device. The live
 * stream refreshes the list as events happen; events that arrived since the officer last
 * looked are marked and counted until they say they have seen them.
 */
export function SecurityEvents() {
  const [filter, setFilter] = useState<{ code?: string; device?: string }>({});
  const events = useSecurityEvents(filter);
  const [formError, setFormError] = useState<string | null>(null);
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const code = String(form.get('code') ?? '')
      .trim()
      .toUpperCase();
    const device = String(form.get('device') ?? '').trim();
    if (code && !/^VIGIL_ERR_[A-Z0-9_]+$/.test(code)) {
      setFormError('An event code looks like VIGIL_ERR_DEVICE_QUARANTINED.');
      return;
    }
    setFormError(null);
    setFilter({ ...(code ? { code } : {}), ...(device ? { device } : {}) });
  };
  const list = events.data?.events ?? [];
  // null until the first answer: what is there when the page opens is not "new".
  const [seenUpTo, setSeenUpTo] = useState<number | null>(null);
  const newest = newestId(list);
  useEffect(() => {
    if (events.isSuccess && seenUpTo === null) setSeenUpTo(newest);
  }, [events.isSuccess, seenUpTo, newest]);
  const isNew = (id: number) => seenUpTo !== null && id > seenUpTo;
  const newCount = list.filter((e) => isNew(e.id)).length;
  return (
    <section aria-labelledby="events-title">
      <h1 id="events-title">Security events</h1>
      <LiveIndicator />
      <form className="filters" onSubmit={onSubmit} aria-label="Filter events">
        <label htmlFor="event-code">Code</label>
        <input id="event-code" name="code" placeholder="VIGIL_ERR_…" maxLength={80} />
        <label htmlFor="event-device">Device</label>
        <input id="event-device" name="device" maxLength={64} />
        <button type="submit">Filter</button>
      </form>
      <FormError message={formError} />
      <QueryNotice isPending={events.isPending} error={events.error} what="security events" />
      <p className="sr-only" role="status" aria-live="polite">
        {newCount > 0 ? `${newCount} new security ${newCount === 1 ? 'event' : 'events'}` : ''}
      </p>
      {newCount > 0 && (
        <p className="notice">
          <StatusChip tone="warning" label={`${newCount} new`} /> since you opened this page or last marked
          them seen.{' '}
          <button type="button" onClick={() => setSeenUpTo(newest)}>
            Mark as seen
          </button>
        </p>
      )}
      {events.isSuccess && list.length === 0 && <p className="notice">No security events match.</p>}
      {list.length > 0 && (
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Severity</th>
              <th scope="col">Code</th>
              <th scope="col">Device</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {list.map((e) => (
              <tr key={e.id}>
                <td>
                  {exactTime(e.ts)}
                  {isNew(e.id) && <StatusChip tone="info" label="New" />}
                </td>
                <td>
                  <StatusChip tone={SEVERITY_TONE[e.severity] ?? 'info'} label={e.severity} />
                </td>
                <td>
                  <code>{e.code}</code>
                </td>
                <td>{e.deviceId ?? <span className="muted">—</span>}</td>
                <td>{e.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
