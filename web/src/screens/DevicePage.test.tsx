import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { DeviceDetail } from '../api/admin-types.ts';
import { deviceFixture, fakeApi, renderWithClient } from '../test-support.tsx';
import { DevicePage } from './DevicePage.tsx';

const cert = {
  serial: '0a1b2c',
  fingerprint: 'AB:CD:EF',
  notBefore: '2026-11-01T00:00:00.000Z',
  notAfter: '2027-11-01T00:00:00.000Z',
  issued: '2026-11-01T00:00:00.000Z',
  revoked: null,
  revokeReason: null,
};
const detail = (o: Partial<DeviceDetail> = {}): DeviceDetail => ({
  device: deviceFixture(),
  certificates: [cert],
  connected: true,
  ...o,
});
const PATH = '/api/v1/devices/ox-1';

describe('device page', () => {
  it('shows model, firmware, patient, certificate and connection security in words', async () => {
    fakeApi({ [`GET ${PATH}`]: { body: detail() } });
    renderWithClient(<DevicePage deviceId="ox-1" canQuarantine={false} canAdminister={false} />);
    const term = await screen.findByText('Connection security');
    expect(term.nextElementSibling).toHaveTextContent(
      'Mutual TLS with a client certificate from the Vigil device CA',
    );
    expect(term.nextElementSibling).toHaveTextContent('0a1b2c');
    expect(screen.getByText('Connected')).toBeInTheDocument();
    expect(screen.getByText('2.4.1')).toBeInTheDocument();
    expect(screen.getByText('81 %')).toBeInTheDocument();
    expect(screen.getByRole('row', { name: /0a1b2c/ })).toHaveTextContent('Valid');
    expect(screen.queryByRole('button')).toBeNull();
  });

  it('says plainly when every certificate is revoked', async () => {
    fakeApi({
      [`GET ${PATH}`]: {
        body: detail({
          device: deviceFixture({ certificateExpires: null }),
          connected: false,
          certificates: [{ ...cert, revoked: '2026-11-20T00:00:00.000Z', revokeReason: 'stolen' }],
        }),
      },
    });
    renderWithClient(<DevicePage deviceId="ox-1" canQuarantine={true} canAdminister={true} />);
    expect(await screen.findByText('Certificate revoked')).toBeInTheDocument();
    expect(screen.getByText('No valid certificate')).toBeInTheDocument();
    expect(screen.getByRole('row', { name: /0a1b2c/ })).toHaveTextContent('Revoked (stolen)');
  });

  it('issues a new enrollment token after confirmation and shows it once', async () => {
    fakeApi({
      [`GET ${PATH}`]: { body: detail() },
      [`POST ${PATH}/enrollment-token`]: {
        status: 201,
        body: { token: 'enr_fresh', expires: '2026-11-28T10:00:00.000Z' },
      },
    });
    renderWithClient(<DevicePage deviceId="ox-1" canQuarantine={true} canAdminister={true} />);
    const u = userEvent.setup();
    await u.click(await screen.findByRole('button', { name: 'New enrollment token ox-1' }));
    await u.click(screen.getByRole('button', { name: 'Confirm new token ox-1' }));
    const panel = await screen.findByRole('region', { name: 'Enrollment token' });
    expect(within(panel).getByTestId('one-time-secret')).toHaveTextContent('enr_fresh');
  });

  it('revokes with a reason, and quarantines with a reason', async () => {
    const calls = fakeApi({
      [`GET ${PATH}`]: { body: detail() },
      [`POST ${PATH}/revoke`]: { body: { id: 'ox-1', revokedCertificates: 1 } },
      [`POST ${PATH}/quarantine`]: { body: { id: 'ox-1', status: 'quarantined' } },
    });
    renderWithClient(<DevicePage deviceId="ox-1" canQuarantine={true} canAdminister={true} />);
    const u = userEvent.setup();
    await u.type(await screen.findByLabelText('Reason for revoking'), 'reported stolen');
    await u.click(screen.getByRole('button', { name: 'Revoke certificate' }));
    expect(await screen.findByText(/Certificate revoked: the device was disconnected/)).toBeInTheDocument();
    await u.type(screen.getByLabelText('Reason'), 'odd traffic');
    await u.click(screen.getByRole('button', { name: 'Quarantine' }));
    const posts = calls.filter((c) => c.method === 'POST');
    expect(posts.map((c) => [c.path, c.body])).toEqual([
      [`${PATH}/revoke`, { reason: 'reported stolen' }],
      [`${PATH}/quarantine`, { reason: 'odd traffic' }],
    ]);
  });

  it('offers a security officer quarantine but not credentials', async () => {
    fakeApi({
      [`GET ${PATH}`]: {
        body: detail({ device: deviceFixture({ status: 'quarantined', quarantineReason: 'tamper' }) }),
      },
    });
    renderWithClient(<DevicePage deviceId="ox-1" canQuarantine={true} canAdminister={false} />);
    expect(await screen.findByRole('button', { name: 'Release from quarantine' })).toBeInTheDocument();
    expect(screen.getByText(/reason: tamper/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Revoke|enrollment token/ })).toBeNull();
  });

  it('assigns the device to another patient from now on', async () => {
    const calls = fakeApi({
      [`GET ${PATH}`]: { body: detail() },
      [`PUT ${PATH}/patient`]: { body: deviceFixture({ patientId: 'p-2' }) },
    });
    renderWithClient(<DevicePage deviceId="ox-1" canQuarantine={true} canAdminister={true} />);
    const u = userEvent.setup();
    const card = await screen.findByRole('article', { name: 'Patient' });
    expect(card).toHaveTextContent('Measures p-1 now.');
    await u.type(within(card).getByLabelText('Patient id'), 'p-2');
    await u.click(within(card).getByRole('button', { name: 'Assign from now' }));
    expect(await within(card).findByRole('status')).toHaveTextContent('Assigned to p-2.');
    expect(calls.find((c) => c.method === 'PUT')?.body).toEqual({ patientId: 'p-2' });
  });
});
