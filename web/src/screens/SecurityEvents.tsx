import { type FormEvent, useState } from 'react';
import { useSecurityEvents } from '../api/queries.ts';
import { QueryNotice } from '../components/QueryNotice.tsx';
import { StatusChip, type Tone } from '../components/StatusChip.tsx';

const SEVERITY_TONE: Record<string, Tone> = {
  high: 'danger',
  critical: 'danger',
  medium: 'warning',
  low: 'info',
};

/** Refused inputs and security actions, newest first, filtered by code and device. */
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
  return (
    <section aria-labelledby="events-title">
      <h1 id="events-title">Security events</h1>
      <form className="filters" onSubmit={onSubmit} aria-label="Filter events">
        <label htmlFor="event-code">Code</label>
        <input id="event-code" name="code" placeholder="VIGIL_ERR_…" maxLength={80} />
        <label htmlFor="event-device">Device</label>
        <input id="event-device" name="device" maxLength={64} />
        <button type="submit">Filter</button>
      </form>
      {formError && (
        <p className="notice notice-error" role="alert">
          {formError}
        </p>
      )}
      <QueryNotice isPending={events.isPending} error={events.error} what="security events" />
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
                <td>{new Date(e.ts).toLocaleString()}</td>
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
