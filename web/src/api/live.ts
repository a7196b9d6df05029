import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useSyncExternalStore } from 'react';
import { applyStreamMessage, refetchAfterGap } from './live-cache.ts';
import { LiveStream, type SocketLike, type StreamStatus, streamUrl } from './stream.ts';

/**
 * The tab's one live stream and its status, kept outside React so every screen reads the
 * same status (`idle`: no stream was started, e.g. in component tests or before sign-in).
 */
type Status = StreamStatus | 'idle';
let status: Status = 'idle';
let lastFrameMs: number | null = null;
const listeners = new Set<() => void>();

/** When the stream last brought a frame (heartbeats included); read on each tick, not pushed. */
export function lastStreamFrameMs(): number | null {
  return lastFrameMs;
}

function setStatus(next: Status): void {
  status = next;
  for (const l of listeners) l();
}

export function useStreamStatus(): Status {
  return useSyncExternalStore(
    (onChange) => {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
    () => status,
  );
}

/**
 * How often a screen polls: not at all while the stream is live (it pushes every change),
 * the usual interval otherwise, so a page still moves on when WebSockets are blocked.
 */
export function usePollMs(ms: number): number | false {
  return useStreamStatus() === 'live' ? false : ms;
}

/** The browser's WebSocket behind the small SocketLike face the stream is written (and tested) against. */
function openWebSocket(url: string): SocketLike {
  const ws = new WebSocket(url);
  const socket: SocketLike = {
    onmessage: null,
    onclose: null,
    onerror: null,
    close: (code, reason) => ws.close(code, reason),
  };
  ws.onmessage = (ev) => socket.onmessage?.({ data: ev.data });
  ws.onclose = (ev) => socket.onclose?.({ code: ev.code, reason: ev.reason });
  ws.onerror = (ev) => socket.onerror?.(ev);
  return socket;
}

/** Opens the stream for the signed-in tab and closes it on sign-out (unmount). */
export function useLiveUpdates(open: (url: string) => SocketLike = openWebSocket): void {
  const client = useQueryClient();
  useEffect(() => {
    let wasLive = false;
    const stream = new LiveStream({
      url: streamUrl(window.location),
      open,
      onMessage: (m) => {
        lastFrameMs = stream.lastFrameMs;
        applyStreamMessage(client, m);
      },
      onStatus: (s) => {
        lastFrameMs = stream.lastFrameMs;
        // Whatever happened while the stream was down is fetched once it is back.
        if (s === 'live' && wasLive) refetchAfterGap(client);
        if (s === 'live') wasLive = true;
        setStatus(s);
      },
      // The session may have ended: asking who is signed in shows sign-in if so.
      onPolicyClose: () => void client.invalidateQueries({ queryKey: ['me'] }),
    });
    setStatus(stream.status);
    stream.start();
    return () => {
      stream.stop();
      lastFrameMs = null;
      setStatus('idle');
    };
  }, [client, open]);
}
