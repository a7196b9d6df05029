import { useSyncExternalStore } from 'react';

/**
 * A small history-API router: the dashboard has a handful of screens, so a dependency buys
 * little. The server answers the same paths with index.html (see src/server/web-routes.ts).
 */
const NAVIGATE = 'vigil:navigate';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATE, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATE, onChange);
  };
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname);
}

export function navigate(path: string, opts: { replace?: boolean } = {}): void {
  if (path === window.location.pathname) return;
  if (opts.replace) window.history.replaceState(null, '', path);
  else window.history.pushState(null, '', path);
  window.dispatchEvent(new Event(NAVIGATE));
}

export { matchRoute, ROUTE_PATHS, type Route } from './routes.ts';
