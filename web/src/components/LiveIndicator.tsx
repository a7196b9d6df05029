import { useStreamStatus } from '../api/live.ts';
import '../clinician.css';

const LABEL = {
  live: 'Live',
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
  stopped: 'Offline',
} as const;

const HINT = {
  live: 'New readings and alerts appear as they arrive.',
  connecting: 'Opening the live connection; the page refreshes every few seconds meanwhile.',
  reconnecting: 'The live connection dropped; trying again, and refreshing every few seconds meanwhile.',
  stopped: 'The live connection is closed.',
} as const;

/** Whether the page is live, told in words and a shape (filled or hollow dot), not colour alone. */
export function LiveIndicator() {
  const status = useStreamStatus();
  if (status === 'idle') return null;
  return (
    <span className={`live live-${status}`} role="status" title={HINT[status]} data-stream={status}>
      <span className="live-dot" aria-hidden="true">
        {status === 'live' ? '●' : '○'}
      </span>
      {LABEL[status]}
    </span>
  );
}
