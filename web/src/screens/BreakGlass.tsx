import { type FormEvent, useId, useState } from 'react';
import { useBreakGlass, useBreakGlassGrant } from '../api/break-glass.ts';
import { emergencyAccessText } from '../components/EmergencyAccess.tsx';
import { Link } from '../components/Link.tsx';
import { ErrorLine } from '../components/QueryNotice.tsx';
import '../clinician.css';
import { zoneLabel } from '../lib/time.ts';

/** The server's minimum (POST /api/v1/patients/{id}/break-glass), spaces not counted: a reason someone can act on later. */
export const MIN_REASON_CHARS = 20;
const MINUTES = 60;

/**
 * What a clinician sees on a patient who is not theirs: why not, and the emergency way in.
 * The reason is asked for before anything opens, and the form says plainly that it is
 * audited and that the security officer is told at once (break-glass should be rare).
 */
export function BreakGlassOffer(props: { patientId: string; detail: string }) {
  const [isAsking, setAsking] = useState(false);
  const [reason, setReason] = useState('');
  const grant = useBreakGlassGrant(props.patientId);
  const reasonId = useId();
  const helpId = useId();
  const isCareTeam = /care-team/.test(props.detail);
  // As the server counts: spaces are not part of a reason, and it takes one line of text.
  const length = reason.replace(/\s/g, '').length;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (length >= MIN_REASON_CHARS) grant.mutate(reason.trim().replace(/\s+/g, ' '));
  };
  return (
    <section className="break-glass" aria-labelledby="break-glass-title">
      <p>
        <Link to="/patients">← All patients</Link>
      </p>
      <h1 id="break-glass-title">
        {isCareTeam
          ? "You are not on this patient's care team"
          : "This patient's consent does not let you see their data"}
      </h1>
      <p>
        Patient <strong>{props.patientId}</strong>. {props.detail}
      </p>
      {!isAsking ? (
        <div className="actions">
          <button type="button" onClick={() => setAsking(true)}>
            Emergency access
          </button>
        </div>
      ) : (
        <form onSubmit={submit}>
          <label htmlFor={reasonId}>Reason for emergency access</label>
          <p id={helpId} className="muted">
            At least {MIN_REASON_CHARS} characters. Emergency access lasts {MINUTES} minutes, is recorded in
            the audit trail with your reason, and the security officer is alerted at once.
          </p>
          <textarea
            id={reasonId}
            aria-describedby={helpId}
            value={reason}
            maxLength={500}
            onChange={(e) => setReason(e.target.value)}
          />
          <p className="muted" aria-live="polite">
            {length < MIN_REASON_CHARS
              ? `${MIN_REASON_CHARS - length} more characters needed`
              : 'Ready to open'}
          </p>
          <div className="actions">
            <button type="submit" disabled={length < MIN_REASON_CHARS || grant.isPending}>
              {grant.isPending ? 'Opening…' : 'Open with emergency access'}
            </button>
            <button type="button" onClick={() => setAsking(false)}>
              Cancel
            </button>
          </div>
          <ErrorLine error={grant.error} />
        </form>
      )}
    </section>
  );
}

/**
 * Shown on the patient while the clinician's emergency access runs, with its end, in the words
 * of the list's marker. It asks the grant itself (GET .../break-glass), which a grant just made
 * updates at once, rather than the list, polled every 30 s.
 */
export function EmergencyBanner(props: { patientId: string }) {
  const glass = useBreakGlass(props.patientId);
  const expires = glass.data?.active ? glass.data.expires : null;
  if (!expires) return null;
  return (
    <p className="banner-emergency" role="status">
      <span aria-hidden="true">⚠</span>
      {emergencyAccessText(expires)} ({zoneLabel(expires)}). You are not on this patient's care team;
      everything you open is audited.
    </p>
  );
}
