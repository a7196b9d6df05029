import type { ReactNode } from 'react';
import { api, setCsrfToken } from './api/client.ts';
import type { Me } from './api/types.ts';
import { Link } from './components/Link.tsx';
import { LiveIndicator } from './components/LiveIndicator.tsx';
import type { NavItem } from './lib/screens.ts';

/** Header with the role's screens and sign-out; the page below it. */
export function AppShell(props: { me: Me; nav: readonly NavItem[]; current: string; children: ReactNode }) {
  const signOut = async () => {
    await api('/api/v1/auth/logout', { method: 'POST' }).catch(() => undefined);
    setCsrfToken(undefined);
    // A fresh page load drops every cached answer and in-memory token of the session.
    window.location.assign('/');
  };
  return (
    <>
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Vigil</span>
        <nav aria-label="Main">
          <ul>
            {props.nav.map((n) => (
              <li key={n.path}>
                <Link to={n.path} current={props.current === n.screen}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <LiveIndicator />
          <span>
            {props.me.username} <span className="muted">({props.me.role})</span>
          </span>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="content" tabIndex={-1}>
        {props.children}
      </main>
    </>
  );
}
