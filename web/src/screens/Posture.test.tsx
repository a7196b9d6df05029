import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { DevicePosture, PostureFinding, RiskScore } from '../api/posture.ts';
import type { Device } from '../api/types.ts';
import { deviceFixture, fakeApi, renderWithClient } from '../test-support.tsx';
import { Fleet } from './Fleet.tsx';
import { Posture } from './Posture.tsx';
import { PostureSection } from './PostureSection.tsx';

const risk = (score: number, band: RiskScore['band']): RiskScore => ({
  score,
  band,
  parts: [{ factor: 'findings', points: score, why: `worst finding scores ${score} (${band})` }],
  multiplier: { value: 1, why: 'criticality already in the finding scores' },
});

const finding = (o: Partial<PostureFinding>): PostureFinding => ({
  vulnerability: 'CVE-2021-23337',
  advisoryId: 'GHSA-35jh-r3h4-6jhm',
  summary: 'Command injection in lodash',
  component: 'pkg:npm/lodash@4.17.20',
  installedVersion: '4.17.20',
  fixedVersion: '4.17.21',
  fixFirmware: null,
  status: 'affected',
  statusReason: null,
  cvss: { version: '3.1', base: 7.2, vector: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H' },
  kev: false,
  epss: 0.01234,
  risk: risk(52, 'medium'),
  ...o,
});

const posture = (o: Partial<DevicePosture>): DevicePosture => ({
  id: 'cgm-1',
  model: 'SimCGM G7',
  serial: 'SN-1',
  status: 'active',
  firmware: '3.2.1',
  manufacturer: 'Vigil Sim Devices',
  criticality: 'diagnostic',
  zone: 'unknown',
  connection: 'mtls',
  internetReachable: false,
  support: { state: 'supported', daysLeft: 900 },
  hasSbom: true,
  risk: risk(62, 'high'),
  findings: [finding({})],
  suppressed: [],
  warnings: [],
  recommendation: { action: 'vendor-fix', steps: ['ask Vigil Sim Devices for firmware with lodash 4.17.21'] },
  ...o,
});

/** An unassigned CGM, otherwise deviceFixture's active, enrolled device. */
const device = (id: string): Device =>
  deviceFixture({
    id,
    model: 'SimCGM G7',
    serial: `SN-${id}`,
    patientId: null,
    firmware: '3.2.1',
    battery: 90,
  });

describe('fleet risk column', () => {
  it('shows risk as a word and a score, riskiest device first', async () => {
    fakeApi({
      'GET /api/v1/devices': { body: { devices: [device('low-1'), device('cgm-1')] } },
      'GET /api/v1/posture/devices': {
        body: {
          generatedAt: new Date().toISOString(),
          devices: [posture({}), posture({ id: 'low-1', risk: risk(8, 'low'), findings: [] })],
        },
      },
    });
    renderWithClient(<Fleet canQuarantine={false} canReadPosture={true} />);
    expect(await screen.findByText('High 62')).toBeInTheDocument();
    const rows = screen.getAllByRole('row').slice(1);
    expect(rows[0]).toHaveAccessibleName(/^cgm-1/);
    expect(within(rows[1]!).getByText('Low 8')).toBeInTheDocument();
    expect(screen.getByRole('columnheader', { name: 'Risk' })).toBeInTheDocument();
  });

  it('has no risk column for a role without posture:read, and does not ask for it', async () => {
    const calls = fakeApi({ 'GET /api/v1/devices': { body: { devices: [device('cgm-1')] } } });
    renderWithClient(<Fleet canQuarantine={false} />);
    await screen.findByRole('row', { name: /^cgm-1/ });
    expect(screen.queryByRole('columnheader', { name: 'Risk' })).toBeNull();
    expect(calls.some((c) => c.path.startsWith('/api/v1/posture'))).toBe(false);
  });
});

describe('device posture section', () => {
  it('lists findings with severity, EPSS, KEV, fix, and explains the score', async () => {
    fakeApi({
      'GET /api/v1/posture/devices/cgm-1': {
        body: posture({
          findings: [
            finding({}),
            finding({
              vulnerability: 'CVE-2026-10001',
              kev: true,
              epss: null,
              fixedVersion: null,
              fixFirmware: '2.4.1',
            }),
          ],
          support: { state: 'ends-within-90-days', daysLeft: 60 },
        }),
      },
    });
    renderWithClient(<PostureSection deviceId="cgm-1" />);
    const table = await screen.findByRole('table', { name: 'Findings' });
    const lodash = within(table).getByRole('row', { name: /CVE-2021-23337/ });
    expect(within(lodash).getByText('CVSS 3.1 7.2')).toBeInTheDocument();
    expect(within(lodash).getByText('EPSS 1.2%')).toBeInTheDocument();
    expect(within(lodash).getByText('4.17.21')).toBeInTheDocument();
    const kev = within(table).getByRole('row', { name: /CVE-2026-10001/ });
    expect(within(kev).getByText('Known exploited (KEV)')).toBeInTheDocument();
    expect(within(kev).getByText('firmware 2.4.1')).toBeInTheDocument();
    expect(screen.getByText('ends in 60 days')).toBeInTheDocument();
    expect(screen.getByText('On file')).toBeInTheDocument();
    const why = screen.getByRole('list', { name: 'Risk explanation' });
    expect(within(why).getByText(/worst finding scores 62/)).toBeInTheDocument();
    expect(screen.getByText(/ask Vigil Sim Devices for firmware/)).toBeInTheDocument();
  });
});

describe('posture screen', () => {
  it('counts devices by risk level, ranks findings across the fleet, and names models near end of support', async () => {
    fakeApi({
      'GET /api/v1/posture/devices': {
        body: {
          generatedAt: new Date().toISOString(),
          devices: [
            posture({}),
            posture({ id: 'cgm-2' }),
            posture({
              id: 'bp-1',
              model: 'SimBP 5',
              risk: risk(20, 'low'),
              findings: [],
              support: { state: 'legacy', daysLeft: -200 },
            }),
          ],
        },
      },
    });
    renderWithClient(<Posture canOpenDevice={true} />);
    expect(await screen.findByRole('img', { name: /High 2, Medium 0, Low 1/ })).toBeInTheDocument();
    const top = screen.getByRole('table', { name: 'Top findings' });
    const row = within(top).getByRole('row', { name: /CVE-2021-23337/ });
    expect(within(row).getByRole('cell', { name: '2' })).toBeInTheDocument();
    const eos = screen.getByRole('list', { name: 'Models past or near end of support' });
    expect(within(eos).getByText(/SimBP 5 \(1 device\): ended 200 days ago/)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'cgm-1' })).toHaveAttribute('href', '/devices/cgm-1');
  });
});
