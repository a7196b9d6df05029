import type uPlot from 'uplot';
import { describe, expect, it } from 'vitest';
import { dayOf } from '../lib/time.ts';
import { chartOptions, thresholdLabelPlaces, timeTickLabels, timeWindow } from './chart-options.ts';

const NOW = new Date(2026, 11, 4, 19, 30, 0).getTime();
const HOUR = 3_600_000;

describe('chart time axis', () => {
  it('spans the whole range chosen, ending now, not only the minutes that have data', () => {
    const opts = chartOptions({
      label: 'Heart rate',
      unit: '/min',
      width: 600,
      height: 220,
      thresholds: [],
      rangeMs: 6 * HOUR,
      now: () => NOW,
    });
    const range = opts.scales?.x?.range as (u: uPlot, min: number, max: number) => [number, number];
    const dataFrom = (NOW - 7 * 60_000) / 1000;
    expect(range({} as uPlot, dataFrom, NOW / 1000 - 5)).toEqual([(NOW - 6 * HOUR) / 1000, NOW / 1000]);
    expect(timeWindow(HOUR, NOW, null, null)).toEqual([(NOW - HOUR) / 1000, NOW / 1000]);
  });

  it('labels ticks 24-hour, with the date under the first tick and where the day changes', () => {
    const at = (h: number, m = 0) => new Date(2026, 11, 4, h, m).getTime() / 1000;
    expect(timeTickLabels([at(19, 22), at(19, 23), at(19, 24)], 60)).toEqual([
      '19:22\n2026-12-04',
      '19:23',
      '19:24',
    ]);
    expect(timeTickLabels([at(22), at(23), at(24)], 3600)).toEqual([
      '22:00\n2026-12-04',
      '23:00',
      '00:00\n2026-12-05',
    ]);
    expect(timeTickLabels([at(19, 22), at(19, 22) + 10], 10)).toEqual(['19:22:00\n2026-12-04', '19:22:10']);
    expect(timeTickLabels([at(0), at(24)], 86_400)).toEqual(['2026-12-04', dayOf(at(24) * 1000)]);
    expect(timeTickLabels([at(19, 22)], 60).join()).not.toMatch(/am|pm|\//i);
  });

  it('shows no legend of dashes: the caption shows the hovered reading instead', () => {
    const opts = chartOptions({ label: 'Heart rate', unit: '/min', width: 600, height: 220, thresholds: [] });
    expect(opts.legend?.show).toBe(false);
  });
});

describe('threshold labels', () => {
  it('sit above their lines when far apart', () => {
    expect(thresholdLabelPlaces([40, 200], 13, 2)).toEqual([
      { y: 38, baseline: 'bottom' },
      { y: 198, baseline: 'bottom' },
    ]);
  });

  it('put the lower of two close lines’ labels below its line, so "low 70" and "urgent low 54" do not collide', () => {
    // low 70 at y=180, urgent low 54 at y=188 (8 px apart, labels are 13 px high).
    const [low, urgentLow] = thresholdLabelPlaces([180, 188], 13, 2);
    expect(low).toEqual({ y: 178, baseline: 'bottom' });
    expect(urgentLow).toEqual({ y: 190, baseline: 'top' });
    // Spans: low 165..178, urgent low 190..203: apart.
  });
});
