import { type ReactNode, useState } from 'react';

/**
 * A secret the server gives out once (a one-time password, an enrollment token): shown with a
 * copy button and a plain warning, because closing it loses it for good. It lives only in
 * this component's props; nothing stores it.
 */
export function OneTimeSecret(props: {
  label: string;
  value: string;
  children?: ReactNode;
  onDone: () => void;
}) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.value);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  };
  return (
    <section className="adm-secret" aria-label={props.label}>
      <h2>{props.label}</h2>
      <p className="adm-warning">
        <strong>You will not see this again.</strong> Copy it now and hand it over safely.
      </p>
      <p>
        <code className="secret" data-testid="one-time-secret">
          {props.value}
        </code>
      </p>
      {props.children}
      <div className="adm-actions">
        <button type="button" onClick={() => void copy()}>
          Copy {props.label.toLowerCase()}
        </button>
        <button type="button" className="link" onClick={props.onDone}>
          Done, hide it
        </button>
        <span role="status">
          {copied === 'yes' && 'Copied to the clipboard.'}
          {copied === 'failed' && 'The browser refused to copy; select the text and copy it by hand.'}
        </span>
      </div>
    </section>
  );
}

/** Recovery codes as the server gave them, once; each signs in once. */
export function RecoveryCodeList(props: { codes: readonly string[]; label: string }) {
  return (
    <ul className="recovery-codes" aria-label={props.label}>
      {props.codes.map((c) => (
        <li key={c}>
          <code>{c}</code>
        </li>
      ))}
    </ul>
  );
}
