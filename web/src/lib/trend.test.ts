import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyRate, type Trend, trendOf } from './trend.ts';

const GLUCOSE = '2339-0';
const HEART_RATE = '8867-4';
const SPO2 = '59408-5';
const END = Date.parse('2026-11-22T10:00:00Z');

/** One reading a minute for `minutes`, ending at END, changing by `perMinute`. */
const ramp = (start: number, perMinute: number, minutes = 15) =>
  Array.from({ length: minutes + 1 }, (_, i) => ({
    effective: new Date(END - (minutes - i) * 60_000).toISOString(),
    value: start + perMinute * i,
  }));

describe('trend arrows', () => {
  it.each<[number, Trend]>([
    [2.5, 'rising-fast'],
    [1.5, 'rising'],
    [0.3, 'steady'],
    [-1.5, 'falling'],
    [-3, 'falling-fast'],
  ])('reads glucose changing %s mg/dL/min as %s (CGM thresholds ±1, ±2)', (rate, trend) => {
    expect(trendOf(GLUCOSE, ramp(150, rate))?.trend).toBe(trend);
  });

  it('uses a relative rule for heart rate: 5 % and 10 % of the level per 15 minutes', () => {
    expect(trendOf(HEART_RATE, ramp(70, 0.1))?.trend).toBe('steady');
    expect(trendOf(HEART_RATE, ramp(70, 0.3))?.trend).toBe('rising');
    expect(trendOf(HEART_RATE, ramp(70, -0.6))?.trend).toBe('falling-fast');
  });

  it('sees a fall in SpO2 of 3 points in 15 minutes although it is small relative to the level', () => {
    expect(trendOf(SPO2, ramp(97, -0.2))?.trend).toBe('falling');
  });

  it('looks only at the last 15 minutes before the newest reading', () => {
    const oldRise = ramp(100, 3, 60).map((p, i) => (i > 45 ? { ...p, value: 235 } : p));
    expect(trendOf(GLUCOSE, oldRise)?.trend).toBe('steady');
  });

  it('says nothing once the newest reading is more than 5 minutes old: an old arrow is not the current trend', () => {
    const rise = ramp(100, 3);
    expect(trendOf(GLUCOSE, rise, END + 4 * 60_000)?.trend).toBe('rising-fast');
    expect(trendOf(GLUCOSE, rise, END + 6 * 60_000)).toBeNull();
  });

  it('says nothing with fewer than three readings or less than four minutes of them', () => {
    expect(trendOf(GLUCOSE, ramp(100, 3, 1))).toBeNull();
    expect(trendOf(GLUCOSE, ramp(100, 3, 3))).toBeNull();
    expect(trendOf(GLUCOSE, [])).toBeNull();
  });

  it('leaves questionable readings out (a frozen or jumping sensor says nothing about direction)', () => {
    const points = ramp(100, 0, 15).map((p, i) => (i > 11 ? { ...p, value: 160, questionable: true } : p));
    expect(trendOf(GLUCOSE, points)?.trend).toBe('steady');
  });

  it('ignores readings with a broken timestamp or value', () => {
    const points = [
      ...ramp(100, 1.5),
      { effective: 'not a date', value: 900 },
      { effective: '', value: Number.NaN },
    ];
    expect(trendOf(GLUCOSE, points)?.trend).toBe('rising');
  });
});

describe('trend arrows (property)', () => {
  const point = fc.record({
    effective: fc.integer({ min: END - 3_600_000, max: END }).map((t) => new Date(t).toISOString()),
    value: fc.double({ min: -1000, max: 1000, noNaN: true }),
  });

  it('never throws, and a rate it reports is finite and classified the way classifyRate says', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(GLUCOSE, HEART_RATE, SPO2, '8310-5'),
        fc.array(point, { maxLength: 40 }),
        (code, points) => {
          const r = trendOf(code, points);
          if (r === null) return;
          expect(Number.isFinite(r.perMinute)).toBe(true);
          const values = points.map((p) => p.value);
          expect(['rising-fast', 'rising', 'steady', 'falling', 'falling-fast']).toContain(r.trend);
          if (values.every((v) => v === values[0])) expect(r.trend).toBe('steady');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('mirrors: negating every value turns rising into falling, fast into fast', () => {
    const mirror: Record<Trend, Trend> = {
      'rising-fast': 'falling-fast',
      rising: 'falling',
      steady: 'steady',
      falling: 'rising',
      'falling-fast': 'rising-fast',
    };
    fc.assert(
      fc.property(fc.double({ min: -50, max: 50, noNaN: true }), (rate) => {
        const up = classifyRate(GLUCOSE, rate, 120);
        expect(classifyRate(GLUCOSE, -rate, 120)).toBe(rate === 0 ? 'steady' : mirror[up]);
      }),
    );
  });

  it('is monotonic: a faster rise never gets a lower arrow', () => {
    const rank: Record<Trend, number> = {
      'falling-fast': 0,
      falling: 1,
      steady: 2,
      rising: 3,
      'rising-fast': 4,
    };
    fc.assert(
      fc.property(
        fc.constantFrom(GLUCOSE, HEART_RATE, SPO2),
        fc.double({ min: -20, max: 20, noNaN: true }),
        fc.double({ min: 0, max: 20, noNaN: true }),
        (code, rate, more) => {
          expect(rank[classifyRate(code, rate + more, 80)]).toBeGreaterThanOrEqual(
            rank[classifyRate(code, rate, 80)],
          );
        },
      ),
    );
  });
});
