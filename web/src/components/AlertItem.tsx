import { useEffect, useRef, useState } from 'react';
import { useAcknowledge, useSnooze } from '../api/queries.ts';
import type { Alert } from '../api/types.ts';
import { alertValue, isSnoozed, urgencyTone } from '../lib/alerts.ts';
import { exactTime } from '../lib/time.ts';
import { Link } from './Link.tsx';
import { ErrorLine } from './QueryNotice.tsx';
import { RelativeTime } from './RelativeTime.tsx';
import { StatusChip } from './StatusChip.tsx';

const SNOOZE_MINUTES = [5, 15, 30, 60];

/** "user:demo-clinician" -> "demo-clinician": the audit actor's kind is not for the clinician. */
export function actorName(actor: string): string {
  return actor.startsWith('user:') ? actor.slice('user:'.length) : actor;
}

/** The alert's title; "No readings from device" names the device, or it says nothing to act on. */
export function alertTitle(a: Alert): string {
  return a.condition === 'signal-loss' && a.device ? `${a.title} ${a.device}` : a.title;
}

/**
 * One alert with what a clinician does about it: acknowledge, or snooze for a while. The alert
 * a link opened (`isLinked`) is marked as current and takes focus (see AlertInbox).
 */
export function AlertItem(props: { alert: Alert; showPatient?: boolean; isLinked?: boolean }) {
  const a = props.alert;
  const ack = useAcknowledge();
  const snooze = useSnooze();
  const [minutes, setMinutes] = useState(15);
  const snoozed = isSnoozed(a);
  const stateLabel =
    a.state === 'acknowledged'
      ? `acknowledged by ${a.acknowledgedBy ? actorName(a.acknowledgedBy) : 'someone'}`
      : a.state;
  // A list of alerts has many Acknowledge and Snooze controls: each names its alert and patient
  // for screen readers, as the list item does (WCAG 2.4.6, 2.5.3: the visible word leads).
  const title = alertTitle(a);
  const which = `${title}, patient ${a.patient}`;
  const item = useRef<HTMLLIElement>(null);
  const isFocusAfterAck = useRef(false);
  // The Acknowledge button leaves once the alert is acknowledged, which would drop keyboard
  // focus to the page's start; the alert itself, now saying who acknowledged it, takes it.
  useEffect(() => {
    if (a.state === 'open' || !isFocusAfterAck.current) return;
    isFocusAfterAck.current = false;
    item.current?.focus();
  }, [a.state]);
  const acknowledge = () => {
    isFocusAfterAck.current = true;
    ack.mutate(a.id, { onError: () => (isFocusAfterAck.current = false) });
  };
  return (
    <li
      ref={item}
      id={`alert-${a.id}`}
      className={`alert-item alert-${a.urgency}${props.isLinked ? ' alert-linked' : ''}`}
      aria-label={`${a.urgency} alert: ${which}`}
      aria-current={props.isLinked ? 'true' : undefined}
      tabIndex={-1}
    >
      {props.isLinked && <p className="alert-linked-note">The alert from your link</p>}
      <div className="alert-head">
        <StatusChip tone={urgencyTone(a)} label={a.urgency === 'urgent' ? 'Urgent' : 'Warning'} />
        <strong>{title}</strong>
        {alertValue(a) && <span className="muted">{alertValue(a)}</span>}
      </div>
      <div className="alert-meta">
        {props.showPatient !== false && (
          <span>
            Patient <Link to={`/patients/${encodeURIComponent(a.patient)}`}>{a.patient}</Link> ·{' '}
          </span>
        )}
        <span>
          opened <RelativeTime iso={a.opened} showExact />
        </span>{' '}
        · <span>{stateLabel}</span>
        {snoozed && a.snoozedUntil && <span> · snoozed until {exactTime(a.snoozedUntil)}</span>}
      </div>
      {a.state !== 'resolved' && (
        <div className="alert-actions">
          {a.state === 'open' && (
            <button type="button" onClick={acknowledge} disabled={ack.isPending}>
              {ack.isPending ? 'Acknowledging…' : 'Acknowledge'} <span className="sr-only">{which}</span>
            </button>
          )}
          <label htmlFor={`snooze-${a.id}`} className="inline-label">
            Snooze for <span className="sr-only">{which}</span>
          </label>
          <select id={`snooze-${a.id}`} value={minutes} onChange={(e) => setMinutes(Number(e.target.value))}>
            {SNOOZE_MINUTES.map((m) => (
              <option key={m} value={m}>
                {m} min
              </option>
            ))}
          </select>
          <button
            type="button"
            onClick={() => snooze.mutate({ id: a.id, minutes })}
            disabled={snooze.isPending}
          >
            Snooze <span className="sr-only">{which}</span>
          </button>
        </div>
      )}
      <ErrorLine error={ack.error ?? snooze.error} />
    </li>
  );
}
