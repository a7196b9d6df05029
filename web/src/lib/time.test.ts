import { afterEach, describe, expect, it, vi } from 'vitest';
import { ago, clock, dayOf, exactTime, zoneLabel } from './time.ts';

const AT = '2026-12-04T18:29:58.000Z';

describe('time formatting', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes an exact time ISO-like, 24-hour, with the zone as an offset', () => {
    expect(exactTime(AT)).toMatch(/^2026-12-0[45] \d\d:\d\d:58 UTC[+-]\d\d:\d\d$/);
    expect(exactTime(AT)).toBe(`${dayOf(AT)} ${clock(AT)} ${zoneLabel(AT)}`);
    expect(exactTime(AT)).not.toMatch(/am|pm|\//i);
  });

  it('names the zone by its offset from UTC, east positive, with minutes', () => {
    const at = new Date(AT);
    vi.spyOn(at, 'getTimezoneOffset').mockReturnValue(-60);
    expect(zoneLabel(at)).toBe('UTC+01:00');
    vi.spyOn(at, 'getTimezoneOffset').mockReturnValue(-330);
    expect(zoneLabel(at)).toBe('UTC+05:30');
    vi.spyOn(at, 'getTimezoneOffset').mockReturnValue(300);
    expect(zoneLabel(at)).toBe('UTC-05:00');
  });

  it('writes clock times 24-hour, with or without seconds', () => {
    const evening = new Date(2026, 11, 4, 19, 7, 5);
    expect(clock(evening)).toBe('19:07:05');
    expect(clock(evening, { seconds: false })).toBe('19:07');
    expect(dayOf(evening)).toBe('2026-12-04');
  });

  it('says how long ago, and past a day the date and time', () => {
    const now = Date.parse(AT);
    expect(ago(new Date(now - 12_000).toISOString(), now)).toBe('12 s ago');
    expect(ago(new Date(now - 5 * 60_000).toISOString(), now)).toBe('5 min ago');
    const old = new Date(now - 3 * 86_400_000).toISOString();
    expect(ago(old, now)).toBe(exactTime(old, { seconds: false, zone: false }));
    expect(ago(null, now)).toBe('never');
  });

  it('says "unknown" for a time that does not parse rather than "Invalid Date"', () => {
    expect(exactTime('')).toBe('unknown');
  });
});
