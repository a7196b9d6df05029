import { useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useEffect, useState } from 'react';
import { describeError } from './api/client.ts';
import { useMe } from './api/queries.ts';
import { SignIn } from './screens/SignIn.tsx';

// Loaded after sign-in: the first page a person sees carries only what sign-in needs.
const Dashboard = lazy(() => import('./Dashboard.tsx'));
const AccountSetup = lazy(() =>
  import('./screens/AccountSetup.tsx').then((m) => ({ default: m.AccountSetup })),
);
const RecoveryCodes = lazy(() =>
  import('./screens/AccountSetup.tsx').then((m) => ({ default: m.RecoveryCodes })),
);

const loading = (
  <p className="notice" role="status">
    Loading…
  </p>
);

/** Who is signed in decides what shows: sign-in, account setup, or the dashboard. */
export function App() {
  const me = useMe();
  const client = useQueryClient();
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | null>(null);
  const [wasSignedIn, setWasSignedIn] = useState(false);
  useEffect(() => {
    if (me.data) setWasSignedIn(true);
  }, [me.data]);

  // Shown once, before anything else, even if the session changed underneath.
  if (recoveryCodes)
    return (
      <Suspense fallback={loading}>
        <RecoveryCodes
          codes={recoveryCodes}
          onDone={() => {
            setRecoveryCodes(null);
            void client.invalidateQueries({ queryKey: ['me'] });
          }}
        />
      </Suspense>
    );
  if (me.isPending) return loading;
  if (me.error)
    return (
      <main className="signin">
        <h1>Vigil</h1>
        <p className="notice notice-error" role="alert">
          Cannot reach the sign-in service: {describeError(me.error)}
        </p>
      </main>
    );
  if (!me.data) return <SignIn notice={wasSignedIn ? 'Your session has ended; sign in again.' : undefined} />;
  return (
    <Suspense fallback={loading}>
      {me.data.stage === 'full' ? (
        // Keyed by who is signed in: when another tab signs in as someone else (the cookie is
        // shared), the dashboard and its live stream start afresh under the new identity, and
        // the first user's stream can put nothing more into the second user's caches.
        <Dashboard key={me.data.id} me={me.data} />
      ) : (
        <AccountSetup me={me.data} onRecoveryCodes={setRecoveryCodes} />
      )}
    </Suspense>
  );
}
