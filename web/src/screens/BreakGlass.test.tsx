import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { setCsrfToken } from '../api/client.ts';
import { clock, zoneLabel } from '../lib/time.ts';
import { fakeApi, problem, renderWithClient } from '../test-support.tsx';
import { PatientPage } from './PatientPage.tsx';

const FOREIGN = 'p-foreign';
const NO_LINK =
  'token:dr may not read patient p-foreign: no care-team link (an emergency may use break-glass, which is audited)';
const EXPIRES = '2026-11-22T14:05:00.000Z';

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
      body: broken ? { active: true, expires: EXPIRES } : { active: false, expires: null },
    }),
    [`POST /api/v1/patients/${FOREIGN}/break-glass`]: () => {
      broken = true;
      return { status: 201, body: { id: 'bg-1', expires: EXPIRES } };
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
    const until = `${clock(EXPIRES, { seconds: false })} \\(${zoneLabel(EXPIRES).replace('+', '\\+')}\\)`;
    expect(await screen.findByText(new RegExp(`Emergency access until ${until}\\.`))).toHaveAttribute(
      'role',
      'status',
    );
    const post = calls.find((c) => c.method === 'POST');
    expect(post?.body).toEqual({ reason: 'unconscious in A&E, care team unreachable' });
    expect(post?.headers['x-csrf-token']).toBe('C'.repeat(43));
  });
});
