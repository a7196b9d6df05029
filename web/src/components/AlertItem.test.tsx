import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { exactTime } from '../lib/time.ts';
import { alertFixture, fakeApi, renderWithClient } from '../test-support.tsx';
import { AlertItem } from './AlertItem.tsx';

const OPENED = '2026-12-04T18:24:58.000Z';

describe('alert item', () => {
  it('names the silent device in "No readings from device"', () => {
    fakeApi({});
    renderWithClient(
      <AlertItem
        alert={alertFixture({
          condition: 'signal-loss',
          title: 'No readings from device',
          device: 'sim-cgm-003',
        })}
      />,
    );
    expect(screen.getByText('No readings from device sim-cgm-003')).toBeInTheDocument();
    expect(screen.getByRole('listitem')).toHaveAccessibleName(
      'warning alert: No readings from device sim-cgm-003, patient p-1',
    );
  });

  it('writes out when it opened, not only in a hover title', () => {
    fakeApi({});
    renderWithClient(<AlertItem alert={alertFixture({ opened: OPENED })} />);
    const item = screen.getByRole('listitem');
    expect(item).toHaveTextContent(`at ${exactTime(OPENED)}`);
    expect(item).toHaveTextContent(/at 2026-12-0\d \d\d:\d\d:58 UTC[+-]\d\d:\d\d/);
  });

  it('says who acknowledged it by user name, without the audit actor prefix', () => {
    fakeApi({});
    renderWithClient(
      <AlertItem alert={alertFixture({ state: 'acknowledged', acknowledgedBy: 'user:demo-clinician' })} />,
    );
    expect(screen.getByRole('listitem')).toHaveTextContent('acknowledged by demo-clinician');
    expect(screen.getByRole('listitem')).not.toHaveTextContent('user:');
  });
});
