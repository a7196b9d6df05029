import { describeError } from '../api/client.ts';

/** What a screen shows instead of data: loading, or what went wrong in one sentence. */
export function QueryNotice(props: { isPending: boolean; error: unknown; what: string }) {
  if (props.error)
    return (
      <p className="notice notice-error" role="alert">
        Could not load {props.what}: {describeError(props.error)}
      </p>
    );
  if (props.isPending)
    return (
      <p className="notice" role="status">
        Loading {props.what}…
      </p>
    );
  return null;
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
