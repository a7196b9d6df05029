import { useState } from 'react';
import { describeError } from '../api/client.ts';
import { useNow } from './RelativeTime.tsx';

/** A request unanswered this long is said to be slow: a hung server never fails a fetch. */
const SLOW_MS = 10_000;

/**
 * What a screen shows instead of data: loading, or what went wrong in one sentence. A query
 * that failed and is being tried again (`failureReason` while pending) says so at once, as
 * one that failed for good does, rather than "Loading…" for as long as the server is away.
 */
export function QueryNotice(props: {
  isPending: boolean;
  error: unknown;
  what: string;
  failureReason?: unknown;
  /** The query asks again on its own (it polls), so a failure is not the last word. */
  isPolling?: boolean;
}) {
  const problem = props.error ?? (props.isPending ? props.failureReason : null);
  if (problem)
    return (
      <p className="notice notice-error" role="alert">
        Could not load {props.what}: {describeError(problem)}
        {!props.error || props.isPolling ? ' Retrying…' : ''}
      </p>
    );
  if (props.isPending) return <Loading what={props.what} />;
  return null;
}

function Loading(props: { what: string }) {
  const [sinceMs] = useState(Date.now);
  const waitedMs = useNow() - sinceMs;
  if (waitedMs >= SLOW_MS)
    return (
      <p className="notice notice-error" role="alert">
        The server has not answered for {Math.round(waitedMs / 1000)} s; still waiting for {props.what}…
      </p>
    );
  return (
    <p className="notice" role="status">
      Loading {props.what}…
    </p>
  );
}

export function ErrorLine(props: { error: unknown }) {
  if (!props.error) return null;
  return (
    <p className="notice notice-error" role="alert">
      {describeError(props.error)}
    </p>
  );
}

/** A form's own check failed (before anything was sent): the reason, announced at once. */
export function FormError(props: { message: string | null | undefined }) {
  if (!props.message) return null;
  return (
    <p className="notice notice-error" role="alert">
      {props.message}
    </p>
  );
}
