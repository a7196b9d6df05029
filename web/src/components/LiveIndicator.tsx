import { lastStreamFrameMs, useStreamStatus } from '../api/live.ts';
import { STALE_AFTER_MS } from '../api/stream.ts';
import { clock } from '../lib/time.ts';
import { useNow } from './RelativeTime.tsx';
import '../clinician.css';
import '../live.css';

const LABEL = {
  live: 'Live',
  stale: 'No data',
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
  stopped: 'Offline',
} as const;

const HINT = {
  live: 'New readings and alerts appear as they arrive.',
  stale:
    'Nothing, not even the server’s heartbeat, has arrived for a while: what you see may be old. Reconnecting soon.',
  connecting: 'Opening the live connection; the page refreshes every few seconds meanwhile.',
  reconnecting: 'The live connection dropped; trying again, and refreshing every few seconds meanwhile.',
  stopped: 'The live connection is closed.',
} as const;

/**
 * Whether the page is live, told in words and a shape (filled or hollow dot), not colour alone.
 * It is live only while frames arrive: silence past STALE_AFTER_MS (the server's heartbeat is
 * every 15 s) says "No data for N s", with the time of the last frame, until frames come again.
 */
export function LiveIndicator() {
  const status = useStreamStatus();
  const nowMs = useNow();
  if (status === 'idle') return null;
  const lastMs = lastStreamFrameMs();
  const silentMs = lastMs === null ? null : Math.max(0, nowMs - lastMs);
  const isSilent = silentMs !== null && silentMs >= STALE_AFTER_MS && status !== 'stopped';
  const shown = status === 'live' && isSilent ? 'stale' : status;
  const silence = isSilent && silentMs !== null ? `no data for ${Math.round(silentMs / 1000)} s` : null;
  const label = shown === 'stale' && silence ? `No data for ${Math.round(silentMs! / 1000)} s` : LABEL[shown];
  const since = lastMs !== null && silence ? ` Last frame at ${clock(lastMs)}.` : '';
  return (
    <span className={`live live-${shown}`} role="status" title={`${HINT[shown]}${since}`} data-stream={shown}>
      <span className="live-dot" aria-hidden="true">
        {shown === 'live' ? '●' : '○'}
      </span>
      {label}
      {shown === 'reconnecting' && silence && ` (${silence})`}
    </span>
  );
}
