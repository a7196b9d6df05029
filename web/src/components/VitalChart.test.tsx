import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { renderWithClient } from '../test-support.tsx';
import { VitalChart } from './VitalChart.tsx';

const HOUR = 3_600_000;
const series = {
  code: '8867-4',
  unit: '/min',
  readings: 3,
  points: [3, 2, 1].map((m, i) => ({
    effective: new Date(Date.now() - m * 60_000).toISOString(),
    value: 70 + i,
  })),
};

describe('vital chart over a chosen range', () => {
  it('zooms in from the whole range and back again (the axis spans the range, not only the data)', async () => {
    const user = userEvent.setup();
    renderWithClient(<VitalChart series={series} thresholds={[]} rangeMs={6 * HOUR} />);
    const reset = screen.getByRole('button', { name: 'Show all of Heart rate' });
    expect(reset).toBeDisabled();
    await user.click(screen.getByRole('button', { name: 'Zoom in on Heart rate' }));
    expect(reset).toBeEnabled();
    await user.click(reset);
    expect(reset).toBeDisabled();
    await user.click(screen.getByRole('button', { name: 'Zoom in on Heart rate' }));
    await user.click(screen.getByRole('button', { name: 'Zoom out on Heart rate' }));
    expect(reset).toBeDisabled();
  });
});
