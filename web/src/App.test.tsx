import { screen } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { App } from './App.tsx';
import type { Me } from './api/types.ts';
import { fakeApi, problem, renderWithClient } from './test-support.tsx';

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

  it('refuses a screen the role does not have, also when the URL is typed', async () => {
    window.history.replaceState(null, '', '/security');
    fakeApi({ 'GET /api/v1/auth/me': { body: me({}) } });
    renderWithClient(<App />);
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Your role (clinician) cannot open this page.',
    );
  });
});
