/**
 * The dashboard's client-side routes, as data. Kept free of React and the DOM so the server's
 * tests can import the same list and check that every path here is answered with index.html
 * (src/server/web-routes.ts lists them again: the server does not import from the web app).
 */
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
  | { screen: 'webhooks' }
  | { screen: 'account' }
  | { screen: 'unknown'; path: string };

type FixedScreen = Exclude<Route, { patientId: string } | { deviceId: string } | { path: string }>['screen'];

/** Paths that name a screen exactly. */
const FIXED: Readonly<Record<string, FixedScreen>> = {
  '/': 'home',
  '/patients': 'patients',
  '/alerts': 'alerts',
  '/fleet': 'fleet',
  '/security': 'security',
  '/posture': 'posture',
  '/users': 'users',
  '/care-teams': 'care-teams',
  '/consent': 'consent',
  '/enrol-device': 'enrol-device',
  '/audit': 'audit',
  '/webhooks': 'webhooks',
  '/account': 'account',
};

/** The same id rule as the server's route params, so a path one side accepts the other does too. */
const ID = '[A-Za-z0-9._-]{1,64}';
const PATIENT = new RegExp(`^/patients/(${ID})$`);
const DEVICE = new RegExp(`^/devices/(${ID})$`);

/** Every path the client router opens a screen for, ':id' standing for an id. */
export const ROUTE_PATHS: readonly string[] = [...Object.keys(FIXED), '/patients/:id', '/devices/:id'];

export function matchRoute(path: string): Route {
  const clean = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const fixed = FIXED[clean === '' ? '/' : clean];
  if (fixed) return { screen: fixed };
  const patient = PATIENT.exec(clean);
  if (patient?.[1]) return { screen: 'patient', patientId: decodeURIComponent(patient[1]) };
  const device = DEVICE.exec(clean);
  if (device?.[1]) return { screen: 'device', deviceId: device[1] };
  return { screen: 'unknown', path: clean };
}
