import { clock, dayOf, exactTime } from '../lib/time.ts';
import '../clinician.css';

/**
 * "Emergency access · ends 14:32": what marks a patient the clinician sees only through their
 * own break-glass grant, on the list and on the patient's page, so that neither they nor someone
 * looking over their shoulder takes an emergency record for one of their care team's. The day is
 * written too when the access ends on another day than today, and "ended" once it has.
 */
export function emergencyAccessText(expires: string, nowMs = Date.now()): string {
  const endsMs = Date.parse(expires);
  const when =
    dayOf(endsMs) === dayOf(nowMs)
      ? clock(endsMs, { seconds: false })
      : exactTime(endsMs, { seconds: false, zone: false });
  return `Emergency access · ${endsMs <= nowMs ? 'ended' : 'ends'} ${when}`;
}

/** The marker itself: told by an icon and words as well as a colour, with the exact end and its zone on hover. */
export function EmergencyAccessMarker(props: { expires: string; nowMs?: number }) {
  const [lead, rest] = emergencyAccessText(props.expires, props.nowMs).split(' · ');
  return (
    <span
      className="access-emergency"
      title={`Break-glass access, audited; ends ${exactTime(props.expires, { seconds: false })}`}
    >
      <span aria-hidden="true">⚠</span>
      {/* Two unbreakable halves: on a narrow column the end goes to a line of its own, whole. */}
      <span>
        <span className="access-emergency-part">{lead} ·</span>{' '}
        <span className="access-emergency-part">{rest}</span>
      </span>
    </span>
  );
}
