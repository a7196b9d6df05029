import { useState } from 'react';

/**
 * A button for a change that cannot be taken back (reset, disable, revoke): the first press
 * asks, the second does it. Keyboard focus moves to the confirm button, and Cancel is beside it.
 */
export function ConfirmButton(props: {
  label: string;
  confirmLabel: string;
  /** Read by screen readers after the visible label, to say which row it acts on. */
  target: string;
  danger?: boolean;
  disabled?: boolean;
  onConfirm: () => void;
}) {
  const [isAsking, setAsking] = useState(false);
  const cls = props.danger ? 'danger' : undefined;
  if (!isAsking)
    return (
      <button type="button" className={cls} disabled={props.disabled} onClick={() => setAsking(true)}>
        {props.label} <span className="sr-only">{props.target}</span>
      </button>
    );
  return (
    <span className="adm-confirm">
      <button
        type="button"
        className={cls}
        // biome-ignore lint/a11y/noAutofocus: the button just pressed is gone; focus goes to its confirmation
        autoFocus
        onClick={() => {
          setAsking(false);
          props.onConfirm();
        }}
      >
        {props.confirmLabel} <span className="sr-only">{props.target}</span>
      </button>
      <button type="button" className="link" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
