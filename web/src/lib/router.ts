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

export type Route =
  | { screen: 'home' }
  | { screen: 'patients' }
  | { screen: 'patient'; patientId: string }
  | { screen: 'alerts' }
  | { screen: 'fleet' }
  | { screen: 'security' }
  | { screen: 'posture' }
  | { screen: 'users' }
  | { screen: 'care-teams' }
  | { screen: 'consent' }
  | { screen: 'enrol-device' }
  | { screen: 'device'; deviceId: string }
  | { screen: 'audit' }
  | { screen: 'account' }
  | { screen: 'unknown'; path: string };

export function matchRoute(path: string): Route {
  const clean = path.length > 1 ? path.replace(/\/+$/, '') : path;
  if (clean === '/' || clean === '') return { screen: 'home' };
  if (clean === '/patients') return { screen: 'patients' };
  const patient = /^\/patients\/([A-Za-z0-9._-]{1,64})$/.exec(clean);
  if (patient?.[1]) return { screen: 'patient', patientId: decodeURIComponent(patient[1]) };
  if (clean === '/alerts') return { screen: 'alerts' };
  if (clean === '/fleet') return { screen: 'fleet' };
  if (clean === '/security') return { screen: 'security' };
  if (clean === '/posture') return { screen: 'posture' };
  if (clean === '/users') return { screen: 'users' };
  if (clean === '/care-teams') return { screen: 'care-teams' };
  if (clean === '/consent') return { screen: 'consent' };
  if (clean === '/enrol-device') return { screen: 'enrol-device' };
  const device = /^\/devices\/([A-Za-z0-9._-]{1,64})$/.exec(clean);
  if (device?.[1]) return { screen: 'device', deviceId: device[1] };
  if (clean === '/audit') return { screen: 'audit' };
  if (clean === '/account') return { screen: 'account' };
  return { screen: 'unknown', path: clean };
}
