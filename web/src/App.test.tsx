import { type QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from './App.tsx';
import { createQueryClient } from './api/queries.ts';
import type { Me } from './api/types.ts';
import { alertFixture, fakeApi, problem, renderWithClient } from './test-support.tsx';

const me = (o: Partial<Me>): Me => ({
  id: 'u-1',
  username: 'dr.lee',
  role: 'clinician',
  stage: 'full',
  mustChangePassword: false,
  totpEnrolled: true,
  recoveryCodesLeft: 10,
  csrfToken: 'C'.repeat(43),
  ...o,
});

describe('app', () => {
  beforeEach(() => window.history.replaceState(null, '', '/'));

  it('shows sign-in when nobody is signed in', async () => {
    fakeApi({ 'GET /api/v1/auth/me': problem(401, 'VIGIL_ERR_AUTH_REQUIRED', 'sign in') });
    renderWithClient(<App />);
    expect(await screen.findByRole('heading', { name: 'Sign in to Vigil' })).toBeInTheDocument();
  });

  it('asks a new account to change its one-time password first', async () => {
    fakeApi({
      'GET /api/v1/auth/me': { body: me({ stage: 'setup', mustChangePassword: true, totpEnrolled: false }) },
    });
    renderWithClient(<App />);
    expect(await screen.findByRole('form', { name: 'Change password' })).toBeInTheDocument();
  });

  it('goes on to TOTP enrolment once the password is changed', async () => {
    fakeApi({ 'GET /api/v1/auth/me': { body: me({ stage: 'setup', totpEnrolled: false }) } });
    renderWithClient(<App />);
    expect(await screen.findByRole('button', { name: 'Set up authenticator app' })).toBeInTheDocument();
  });

  it('offers a clinician the clinical screens and opens the first', async () => {
    fakeApi({
      'GET /api/v1/auth/me': { body: me({}) },
      'GET /api/v1/patients': { body: { patients: [] } },
      'GET /api/v1/alerts': { body: { alerts: [] } },
    });
    renderWithClient(<App />);
    const nav = await screen.findByRole('navigation', { name: 'Main' });
    expect([...nav.querySelectorAll('a')].map((a) => a.textContent)).toEqual([
      'Patients',
      'Alerts',
      'Fleet',
      'Account',
    ]);
    expect(await screen.findByRole('heading', { name: 'My patients' })).toBeInTheDocument();
    expect(window.location.pathname).toBe('/patients');
  });

  it("says a mistyped address has no page, and links to the role's first screen", async () => {
    window.history.replaceState(null, '', '/no-such-screen');
    fakeApi({
      'GET /api/v1/auth/me': { body: me({}) },
      'GET /api/v1/patients': { body: { patients: [] } },
      'GET /api/v1/alerts': { body: { alerts: [] } },
    });
    renderWithClient(<App />);
    expect(await screen.findByRole('heading', { level: 1, name: 'Page not found' })).toBeInTheDocument();
    expect(screen.getByText('/no-such-screen')).toBeInTheDocument();
    const home = screen.getByRole('link', { name: 'Go to the start page' });
    expect(home).toHaveAttribute('href', '/patients');
    fireEvent.click(home);
    expect(await screen.findByRole('heading', { name: 'My patients' })).toBeInTheDocument();
    expect(window.location.pathname).toBe('/patients');
  });

  it('refuses a screen the role does not have, also when the URL is typed', async () => {
    window.history.replaceState(null, '', '/security');
    fakeApi({ 'GET /api/v1/auth/me': { body: me({}) } });
    renderWithClient(<App />);
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Your role (clinician) cannot open this page.',
    );
  });
});

describe('a session ending in a shared tab', () => {
  beforeEach(() => window.history.replaceState(null, '', '/patients'));

  const drLee = me({ id: 'u-lee', username: 'dr.lee' });
  const drPark = me({ id: 'u-park', username: 'dr.park' });
  const ended = problem(401, 'VIGIL_ERR_AUTH_REQUIRED', 'sign in');

  /** The server as the tab sees it: who the cookie names now, and that person's patients. */
  function serverFor(session: { who: Me | null }) {
    return fakeApi({
      'GET /api/v1/auth/me': () => (session.who ? { body: session.who } : ended),
      // Dr Park's list never arrives (a slow ward network): only a stale cache could fill the page.
      'GET /api/v1/patients': () =>
        session.who === drLee
          ? { body: { patients: [{ id: 'p-lee', name: 'Previous Patient' }] } }
          : session.who
            ? new Promise<never>(() => undefined)
            : ended,
      'GET /api/v1/alerts': () => (session.who ? { body: { alerts: [] } } : ended),
      'POST /api/v1/auth/login': () => {
        session.who = drPark;
        return { body: { mfaRequired: false, ticket: null, expiresAt: '', csrfToken: 'P'.repeat(43) } };
      },
    });
  }

  const sessionData = (client: QueryClient) =>
    client
      .getQueryCache()
      .getAll()
      .filter((q) => q.queryKey[0] !== 'me' && q.state.data !== undefined);

  it("drops the previous clinician's data when a call answers 401, before the next one signs in", async () => {
    const session: { who: Me | null } = { who: drLee };
    serverFor(session);
    const client = createQueryClient();
    render(
      <QueryClientProvider client={client}>
        <App />
      </QueryClientProvider>,
    );
    expect(await screen.findByText('Previous Patient')).toBeInTheDocument();

    session.who = null;
    await client.refetchQueries({ queryKey: ['patients'] });
    expect(await screen.findByRole('heading', { name: 'Sign in to Vigil' })).toBeInTheDocument();
    expect(sessionData(client)).toEqual([]);

    fireEvent.change(screen.getByLabelText('Username'), { target: { value: 'dr.park' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'correct horse' } });
    fireEvent.click(screen.getByRole('button', { name: 'Continue' }));
    expect(await screen.findByRole('heading', { name: 'My patients' })).toBeInTheDocument();
    expect(screen.getByText(/dr\.park/)).toBeInTheDocument();
    expect(screen.queryByText('Previous Patient')).not.toBeInTheDocument();
    client.clear();
  });

  it('drops the previous data when the session ends out of sight or another person signs in', async () => {
    const session: { who: Me | null } = { who: drLee };
    serverFor(session);
    const client = createQueryClient();
    render(
      <QueryClientProvider client={client}>
        <App />
      </QueryClientProvider>,
    );
    expect(await screen.findByText('Previous Patient')).toBeInTheDocument();

    // Another tab of this browser signs in as Dr Park: the shared cookie now names Dr Park.
    session.who = drPark;
    await client.invalidateQueries({ queryKey: ['me'] });
    await waitFor(() => expect(screen.getByText(/dr\.park/)).toBeInTheDocument());
    expect(screen.queryByText('Previous Patient')).not.toBeInTheDocument();

    // The live stream closes on policy and asks who is signed in: nobody.
    session.who = null;
    await client.invalidateQueries({ queryKey: ['me'] });
    expect(await screen.findByRole('heading', { name: 'Sign in to Vigil' })).toBeInTheDocument();
    expect(sessionData(client)).toEqual([]);
    client.clear();
  });
  /** The browser's WebSocket, faked: the test plays the server on each socket the tab opens. */
  class FakeWebSocket {
    static opened: FakeWebSocket[] = [];
    onmessage: ((ev: { data: unknown }) => void) | null = null;
    onclose: ((ev: { code: number; reason: string }) => void) | null = null;
    onerror: ((ev: unknown) => void) | null = null;
    closedWith: number | undefined;
    constructor(readonly url: string) {
      FakeWebSocket.opened.push(this);
    }
    close(code?: number) {
      this.closedWith = code;
    }
    deliver(m: unknown) {
      act(() => this.onmessage?.({ data: JSON.stringify(m) }));
    }
  }

  describe('its live stream', () => {
    beforeEach(() => {
      FakeWebSocket.opened = [];
      vi.stubGlobal('WebSocket', FakeWebSocket);
    });
    afterEach(() => vi.unstubAllGlobals());

    it("restarts as the new person when another signs in, and takes no more of the first one's alerts", async () => {
      const session: { who: Me | null } = { who: drLee };
      serverFor(session);
      const client = createQueryClient();
      render(
        <QueryClientProvider client={client}>
          <App />
        </QueryClientProvider>,
      );
      expect(await screen.findByText('Previous Patient')).toBeInTheDocument();
      const first = FakeWebSocket.opened[0]!;
      expect(FakeWebSocket.opened).toHaveLength(1);
      first.deliver({ type: 'hello', topics: ['readings', 'alerts'], patients: null });

      session.who = drPark;
      await client.invalidateQueries({ queryKey: ['me'] });
      await waitFor(() => expect(screen.getByText(/dr\.park/)).toBeInTheDocument());
      await waitFor(() => expect(client.getQueryData(['alerts', 'all'])).toEqual({ alerts: [] }));
      expect(first.closedWith).toBe(1000);
      expect(FakeWebSocket.opened).toHaveLength(2);

      // Dr Lee's stream, had it stayed open, would still deliver Dr Lee's alerts.
      first.deliver({ type: 'alert', action: 'raise', alert: alertFixture({ patient: 'p-lee' }) });
      expect(client.getQueryData(['alerts', 'all'])).toEqual({ alerts: [] });
      client.clear();
    });
  });
});
