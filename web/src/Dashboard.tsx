import { useEffect, useRef } from 'react';
import { AdminScreen } from './AdminScreen.tsx';
import { AppShell } from './AppShell.tsx';
import { useLiveUpdates } from './api/live.ts';
import type { Me } from './api/types.ts';
import { matchRoute, navigate, type Route, usePath } from './lib/router.ts';
import { canOpenDevicePage, canQuarantine, canReadPosture, screensFor } from './lib/screens.ts';
import { Account } from './screens/Account.tsx';
import { AlertInbox } from './screens/AlertInbox.tsx';
import { Fleet } from './screens/Fleet.tsx';
import { NotFound } from './screens/NotFound.tsx';
import { PatientList } from './screens/PatientList.tsx';
import { PatientPage } from './screens/PatientPage.tsx';
import { SecurityEvents } from './screens/SecurityEvents.tsx';

/** The signed-in dashboard: the role's screens, chosen by the path. */
export default function Dashboard(props: { me: Me }) {
  const path = usePath();
  const route = matchRoute(path);
  const nav = screensFor(props.me.role);
  const home = nav[0]?.path;
  // One live stream per signed-in tab; it closes when the dashboard unmounts (sign-out).
  useLiveUpdates();
  useEffect(() => {
    if (route.screen === 'home' && home) navigate(home, { replace: true });
  }, [route.screen, home]);
  // After an in-page navigation, move focus to the new screen so keyboard and screen-reader
  // users start there (the first load leaves focus where the browser puts it).
  const firstPath = useRef(path);
  useEffect(() => {
    if (path !== firstPath.current) document.getElementById('content')?.focus();
  }, [path]);
  return (
    <AppShell me={props.me} nav={nav} current={route.screen}>
      <Screen
        route={route}
        me={props.me}
        homePath={home ?? '/account'}
        isAllowed={
          route.screen === 'patient'
            ? nav.some((n) => n.screen === 'patients')
            : route.screen === 'device'
              ? canOpenDevicePage(props.me.role)
              : nav.some((n) => n.screen === route.screen)
        }
      />
    </AppShell>
  );
}

function Screen(props: { route: Route; me: Me; homePath: string; isAllowed: boolean }) {
  const { route } = props;
  if (route.screen === 'home')
    return <p className="notice">There are no dashboard screens for the role {props.me.role} yet.</p>;
  if (route.screen === 'unknown') return <NotFound path={route.path} homePath={props.homePath} />;
  if (!props.isAllowed)
    return (
      <p className="notice notice-error" role="alert">
        Your role ({props.me.role}) cannot open this page.
      </p>
    );
  switch (route.screen) {
    case 'patients':
      return <PatientList />;
    case 'patient':
      return <PatientPage key={route.patientId} patientId={route.patientId} />;
    case 'alerts':
      return <AlertInbox />;
    case 'fleet':
      return (
        <Fleet
          canQuarantine={canQuarantine(props.me.role)}
          canOpenDevice={canOpenDevicePage(props.me.role)}
          canReadPosture={canReadPosture(props.me.role)}
        />
      );
    case 'security':
      return <SecurityEvents />;
    case 'account':
      return <Account me={props.me} />;
    default:
      return <AdminScreen route={route} me={props.me} />;
  }
}
