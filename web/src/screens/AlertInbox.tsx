import { useAlerts } from '../api/queries.ts';
import { AlertItem } from '../components/AlertItem.tsx';
import { QueryNotice } from '../components/QueryNotice.tsx';
import { byUrgency } from '../lib/alerts.ts';

/** Unresolved alerts, most urgent first. */
export function AlertInbox() {
  const alerts = useAlerts();
  const live = (alerts.data?.alerts ?? []).filter((a) => a.state !== 'resolved').sort(byUrgency);
  return (
    <section aria-labelledby="alerts-title">
      <h1 id="alerts-title">Alert inbox</h1>
      <QueryNotice isPending={alerts.isPending} error={alerts.error} what="alerts" />
      {alerts.isSuccess && live.length === 0 && (
        <p className="notice" role="status">
          No open alerts.
        </p>
      )}
      <ul className="alert-list" aria-label="Open alerts">
        {live.map((a) => (
          <AlertItem key={a.id} alert={a} />
        ))}
      </ul>
    </section>
  );
}
