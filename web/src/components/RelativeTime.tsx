import { useEffect, useState } from 'react';
import { ago, exactTime, TICK_MS } from '../lib/time.ts';
import '../live.css';

/**
 * One timer for the whole tab: every screen's relative times ("12 s ago") are written again
 * each TICK_MS, so a reading ages on screen even when nothing new arrives to redraw the page
 * (a frozen server sends nothing, and "0 s ago" must not stay "0 s ago").
 */
const listeners = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | undefined;

function subscribe(onTick: () => void): () => void {
  listeners.add(onTick);
  timer ??= setInterval(() => {
    for (const l of listeners) l();
  }, TICK_MS);
  return () => {
    listeners.delete(onTick);
    if (listeners.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

/** The current time in ms, moving on every TICK_MS. */
export function useNow(): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => subscribe(() => setNow(Date.now())), []);
  return now;
}

/**
 * "2 min ago", ageing on its own, with the exact time on hover and in `dateTime`;
 * `showExact` also writes it out ("at 2026-12-04 19:29:58 UTC+01:00") for keyboard and touch.
 */
export function RelativeTime(props: { iso: string | null; showExact?: boolean }) {
  const now = useNow();
  if (!props.iso) return <span>never</span>;
  const exact = exactTime(props.iso);
  return (
    <>
      <time dateTime={props.iso} title={exact}>
        {ago(props.iso, now)}
      </time>
      {props.showExact && <span className="exact-time"> at {exact}</span>}
    </>
  );
}
