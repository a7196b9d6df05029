import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { setCsrfToken } from '../api/client.ts';
import { emergencyAccessText } from '../components/EmergencyAccess.tsx';
import { zoneLabel } from '../lib/time.ts';
import { fakeApi, problem, renderWithClient } from '../test-support.tsx';
import { PatientPage } from './PatientPage.tsx';

const FOREIGN = 'p-foreign';
const NO_LINK =
  'token:dr may not read patient p-foreign: no care-team link (an emergency may use break-glass, which is audited)';
const EXPIRES = '2026-11-22T14:05:00.000Z';
/** The grant's end: 45 minutes from now, so the banner reads "ends", not "ended". */
const GRANT_ENDS = new Date(Date.now() + 45 * 60_000).toISOString();

/** A fake server where the patient opens only after break-glass was used. */
function server() {
  let broken = false;
  const calls = fakeApi({
    [`GET /api/v1/patients/${FOREIGN}/observations`]: () =>
      broken
        ? {
            body: {
              series: [
                { code: '8867-4', unit: '/min', readings: 1, points: [{ effective: EXPIRES, value: 71 }] },
              ],
            },
          }
        : problem(403, 'VIGIL_ERR_AUTH_FORBIDDEN', NO_LINK),
    [`GET /api/v1/patients/${FOREIGN}/break-glass`]: () => ({
      body: broken ? { active: true, expires: GRANT_ENDS } : { active: false, expires: null },
    }),
    [`POST /api/v1/patients/${FOREIGN}/break-glass`]: () => {
      broken = true;
      return { status: 201, body: { id: 'bg-1', expires: GRANT_ENDS } };
    },
    'GET /api/v1/alerts': { body: { alerts: [] } },
  });
  return calls;
}

describe('break-glass', () => {
  beforeEach(() => setCsrfToken('C'.repeat(43)));

  it('tells a clinician the patient is not theirs, and shows none of their data', async () => {
    server();
    renderWithClient(<PatientPage patientId={FOREIGN} />);
    expect(
      await screen.findByRole('heading', { name: "You are not on this patient's care team" }),
    ).toBeInTheDocument();
    expect(screen.queryByRole('figure')).toBeNull();
    expect(screen.getByRole('button', { name: 'Emergency access' })).toBeEnabled();
  });

  it('asks for a reason of at least 20 characters and says it is audited and reported', async () => {
    const user = userEvent.setup();
    const calls = server();
    renderWithClient(<PatientPage patientId={FOREIGN} />);
    await user.click(await screen.findByRole('button', { name: 'Emergency access' }));
    const reason = screen.getByRole('textbox', { name: 'Reason for emergency access' });
    expect(reason).toHaveAccessibleDescription(/audit trail.*security officer is alerted/);
    await user.type(reason, 'collapsed   ');
    const open = screen.getByRole('button', { name: 'Open with emergency access' });
    expect(open).toBeDisabled();
    expect(screen.getByText('11 more characters needed')).toBeInTheDocument();
    await user.type(reason, 'in the corridor');
    expect(open).toBeEnabled();
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
  });

  it('opens the patient after the reason is sent, with a banner saying until when', async () => {
    const user = userEvent.setup();
    const calls = server();
    renderWithClient(<PatientPage patientId={FOREIGN} />);
    await user.click(await screen.findByRole('button', { name: 'Emergency access' }));
    await user.type(
      screen.getByRole('textbox', { name: /Reason/ }),
      'unconscious in A&E, care team unreachable',
    );
    await user.click(screen.getByRole('button', { name: 'Open with emergency access' }));
    expect(await screen.findByRole('figure', { name: 'Heart rate chart' })).toBeInTheDocument();
    const banner = `${emergencyAccessText(GRANT_ENDS)} (${zoneLabel(GRANT_ENDS)}).`;
    expect(banner).toMatch(/^Emergency access · ends .*\d\d:\d\d \(UTC[+-]\d\d:\d\d\)\.$/);
    const escaped = banner.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(await screen.findByText(new RegExp(`^${escaped}`))).toHaveAttribute('role', 'status');
    const post = calls.find((c) => c.method === 'POST');
    expect(post?.body).toEqual({ reason: 'unconscious in A&E, care team unreachable' });
    expect(post?.headers['x-csrf-token']).toBe('C'.repeat(43));
  });

  it('offers the same emergency access for an id that names nobody, and says so only after the reason', async () => {
    const user = userEvent.setup();
    const NOBODY = 'p-nobody';
    const calls = fakeApi({
      // The server answers an unknown id as it answers a patient outside the care team.
      [`GET /api/v1/patients/${NOBODY}/observations`]: problem(
        403,
        'VIGIL_ERR_AUTH_FORBIDDEN',
        NO_LINK.replace(FOREIGN, NOBODY),
      ),
      [`GET /api/v1/patients/${NOBODY}/break-glass`]: { body: { active: false, expires: null } },
      [`POST /api/v1/patients/${NOBODY}/break-glass`]: problem(
        404,
        'VIGIL_ERR_PATIENT_UNKNOWN',
        `patient ${NOBODY} is not registered`,
      ),
      'GET /api/v1/alerts': { body: { alerts: [] } },
    });
    renderWithClient(<PatientPage patientId={NOBODY} />);
    expect(
      await screen.findByRole('heading', { name: "You are not on this patient's care team" }),
    ).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Emergency access' }));
    await user.type(screen.getByRole('textbox', { name: /Reason/ }), 'unconscious in A&E, no wristband id');
    await user.click(screen.getByRole('button', { name: 'Open with emergency access' }));
    expect(await screen.findByText(`patient ${NOBODY} is not registered`)).toBeInTheDocument();
    expect(screen.queryByRole('figure')).toBeNull();
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1);
  });
});
