import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { api } from '../api/client.ts';
import { useAlerts } from '../api/queries.ts';
import type { Alert } from '../api/types.ts';
import { AlertItem } from '../components/AlertItem.tsx';
import { QueryNotice } from '../components/QueryNotice.tsx';
import { alertIdFromSearch } from '../lib/alert-link.ts';
import { byUrgency } from '../lib/alerts.ts';
import '../account.css';

/** Unresolved alerts, most urgent first; an e-mail or webhook link (`?alert=<id>`) focuses its alert. */
export function AlertInbox() {
  const alerts = useAlerts();
  // Read once: the link is how the page was opened; later navigation does not re-focus.
  const [linkedId] = useState(() => alertIdFromSearch(window.location.search));
  const live = (alerts.data?.alerts ?? []).filter((a) => a.state !== 'resolved').sort(byUrgency);
  const isListed = linkedId !== undefined && live.some((a) => a.id === linkedId);
  // Not among the open ones (resolved meanwhile, or beyond the list's limit): fetch it by id.
  const linked = useQuery({
    queryKey: ['alert', linkedId],
    queryFn: () => api<{ alert: Alert }>(`/api/v1/alerts/${encodeURIComponent(linkedId ?? '')}`),
    enabled: linkedId !== undefined && alerts.isSuccess && !isListed,
  });
  useFocusOnce(linkedId, isListed || linked.isSuccess);
  return (
    <section aria-labelledby="alerts-title">
      <h1 id="alerts-title">Alert inbox</h1>
      {linkedId !== undefined && !isListed && alerts.isSuccess && (
        <section aria-labelledby="linked-alert-title">
          <h2 id="linked-alert-title">Alert from your link</h2>
          <QueryNotice isPending={linked.isPending} error={linked.error} what="the alert from your link" />
          {linked.data && (
            <ul className="alert-list" aria-label="Alert from your link">
              <AlertItem alert={linked.data.alert} isLinked />
            </ul>
          )}
        </section>
      )}
      <QueryNotice
        isPending={alerts.isPending}
        error={alerts.error}
        failureReason={alerts.failureReason}
        isPolling
        what="alerts"
      />
      {alerts.isSuccess && live.length === 0 && (
        <p className="notice" role="status">
          No open alerts.
        </p>
      )}
      <ul className="alert-list" aria-label="Open alerts">
        {live.map((a) => (
          <AlertItem key={a.id} alert={a} isLinked={a.id === linkedId} />
        ))}
      </ul>
    </section>
  );
}

/** Moves keyboard and screen-reader focus to the linked alert once it is on the page (WCAG 2.4.3). */
function useFocusOnce(id: string | undefined, isShown: boolean) {
  const hasFocused = useRef(false);
  useEffect(() => {
    if (!id || !isShown || hasFocused.current) return;
    const el = document.getElementById(`alert-${id}`);
    if (!el) return;
    hasFocused.current = true;
    el.focus();
    el.scrollIntoView?.({ block: 'center' });
  }, [id, isShown]);
}
