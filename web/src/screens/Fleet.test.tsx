import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { deviceFixture, fakeApi, renderWithClient } from '../test-support.tsx';
import { Fleet } from './Fleet.tsx';

describe('fleet', () => {
  it('shows model, firmware, patient and status in words', async () => {
    fakeApi({
      'GET /api/v1/devices': {
        body: {
          devices: [
            deviceFixture({}),
            deviceFixture({ id: 'cgm-2', status: 'quarantined', quarantineReason: 'tamper' }),
          ],
        },
      },
    });
    renderWithClient(<Fleet canQuarantine={true} />);
    const row = await screen.findByRole('row', { name: /^ox-1/ });
    expect(within(row).getByText('PulseOx 3')).toBeInTheDocument();
    expect(within(row).getByText('2.4.1')).toBeInTheDocument();
    expect(within(row).getByText('Online')).toBeInTheDocument();
    const quarantined = screen.getByRole('row', { name: /^cgm-2/ });
    expect(within(quarantined).getByText('Quarantined')).toBeInTheDocument();
    expect(within(quarantined).getByRole('button', { name: 'Release cgm-2' })).toBeInTheDocument();
  });

  it('asks for a reason, then quarantines the device', async () => {
    const calls = fakeApi({
      'GET /api/v1/devices': { body: { devices: [deviceFixture({})] } },
      'POST /api/v1/devices/ox-1/quarantine': { body: { id: 'ox-1', status: 'quarantined' } },
    });
    renderWithClient(<Fleet canQuarantine={true} />);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Quarantine ox-1' }));
    await user.type(screen.getByLabelText('Reason'), 'beaconing to an unknown host');
    await user.click(screen.getByRole('button', { name: 'Confirm quarantine' }));
    await screen.findByRole('button', { name: 'Quarantine ox-1' });
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ reason: 'beaconing to an unknown host' });
  });

  it('offers no quarantine to a role that may not use it', async () => {
    fakeApi({ 'GET /api/v1/devices': { body: { devices: [deviceFixture({})] } } });
    renderWithClient(<Fleet canQuarantine={false} />);
    await screen.findByRole('row', { name: /^ox-1/ });
    expect(screen.queryByRole('button', { name: /Quarantine/ })).toBeNull();
    expect(screen.queryByRole('columnheader', { name: 'Action' })).toBeNull();
  });

  it('lists devices sending questionable readings, in words', async () => {
    fakeApi({
      'GET /api/v1/devices': { body: { devices: [deviceFixture({})] } },
      'GET /api/v1/data-quality': {
        body: {
          notices: [
            {
              id: 1,
              device: 'ox-1',
              patient: 'p-1',
              issue: 'flat-line',
              first: new Date().toISOString(),
              last: new Date().toISOString(),
              questionableReadings: 12,
              cleared: null,
            },
          ],
        },
      },
    });
    renderWithClient(<Fleet canQuarantine={false} />);
    const panel = await screen.findByRole('region', { name: 'Data-quality notices' });
    expect(await within(panel).findByText('Flat line (value stuck)')).toBeInTheDocument();
    expect(panel).toHaveTextContent('ox-1 (patient p-1): 12 questionable readings');
  });

  it('names no patient where the server withholds it (an administrator or security officer)', async () => {
    fakeApi({
      'GET /api/v1/devices': { body: { devices: [deviceFixture({})] } },
      'GET /api/v1/data-quality': {
        body: {
          notices: [
            {
              id: 2,
              device: 'ox-1',
              patient: null,
              issue: 'clock-skew',
              first: new Date().toISOString(),
              last: new Date().toISOString(),
              questionableReadings: 3,
              cleared: null,
            },
          ],
        },
      },
    });
    renderWithClient(<Fleet canQuarantine={false} />);
    const panel = await screen.findByRole('region', { name: 'Data-quality notices' });
    await within(panel).findByText(/3 questionable readings/);
    expect(panel).toHaveTextContent('ox-1: 3 questionable readings');
    expect(panel).not.toHaveTextContent('patient');
  });
});
