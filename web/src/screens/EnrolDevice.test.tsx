import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Device } from '../api/types.ts';
import { exactTime } from '../lib/time.ts';
import { fakeApi, problem, renderWithClient } from '../test-support.tsx';
import { EnrolDevice } from './EnrolDevice.tsx';

const device: Device = {
  id: 'ox-9',
  model: 'PulseOx 3',
  serial: 'SN-9',
  status: 'registered',
  patientId: 'p-1',
  firmware: null,
  battery: null,
  lastSeen: null,
  certificateExpires: null,
  enrolled: false,
  quarantineReason: null,
};

describe('device enrolment', () => {
  it('registers a device and shows its token once, with expiry and the command for the device', async () => {
    const calls = fakeApi({
      'POST /api/v1/devices': {
        status: 201,
        body: { device, enrollment: { token: 'enr_abc123', expires: '2026-11-28T10:00:00.000Z' } },
      },
    });
    renderWithClient(<EnrolDevice />);
    const u = userEvent.setup();
    await u.type(screen.getByLabelText(/^Device id/), 'ox-9');
    await u.type(screen.getByLabelText('Model'), 'PulseOx 3');
    await u.type(screen.getByLabelText('Serial number'), 'SN-9');
    await u.type(screen.getByLabelText(/^Patient id/), 'p-1');
    await u.click(screen.getByRole('button', { name: 'Register and get token' }));
    const panel = await screen.findByRole('region', { name: 'Enrollment token' });
    expect(within(panel).getByTestId('one-time-secret')).toHaveTextContent('enr_abc123');
    expect(panel).toHaveTextContent('You will not see this again.');
    expect(panel).toHaveTextContent(exactTime('2026-11-28T10:00:00.000Z'));
    expect(within(panel).getByTestId('enrol-command')).toHaveTextContent(
      `vigil device enroll --id ox-9 --token enr_abc123 --out ./vigil-credentials --server ${window.location.origin}`,
    );
    expect(calls[0]?.body).toEqual({ id: 'ox-9', model: 'PulseOx 3', serial: 'SN-9', patientId: 'p-1' });
    expect(screen.getByRole('link', { name: 'ox-9' })).toHaveAttribute('href', '/devices/ox-9');
  });

  it('leaves the patient out when none is given, and says why the server refused', async () => {
    const calls = fakeApi({
      'POST /api/v1/devices': problem(409, 'VIGIL_ERR_DEVICE_EXISTS', 'device ox-9 is already registered'),
    });
    renderWithClient(<EnrolDevice />);
    const u = userEvent.setup();
    await u.type(screen.getByLabelText(/^Device id/), 'ox-9');
    await u.type(screen.getByLabelText('Model'), 'PulseOx 3');
    await u.type(screen.getByLabelText('Serial number'), 'SN-9');
    await u.click(screen.getByRole('button', { name: 'Register and get token' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('device ox-9 is already registered');
    expect(calls[0]?.body).toEqual({ id: 'ox-9', model: 'PulseOx 3', serial: 'SN-9' });
    expect(screen.queryByTestId('one-time-secret')).toBeNull();
  });

  it('refuses a device id that cannot be a certificate name before asking the server', async () => {
    const calls = fakeApi({});
    renderWithClient(<EnrolDevice />);
    const u = userEvent.setup();
    await u.type(screen.getByLabelText(/^Device id/), 'ox 9/a');
    await u.type(screen.getByLabelText('Model'), 'X');
    await u.type(screen.getByLabelText('Serial number'), 'Y');
    await u.click(screen.getByRole('button', { name: 'Register and get token' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('The device id must be');
    expect(calls).toHaveLength(0);
  });
});
