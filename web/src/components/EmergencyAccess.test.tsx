import { describe, expect, it } from 'vitest';
import { clock, exactTime } from '../lib/time.ts';
import { emergencyAccessText } from './EmergencyAccess.tsx';

describe('emergency access marker text', () => {
  const now = new Date(2026, 11, 4, 13, 32).getTime();

  it('says when the access ends today, to the minute', () => {
    const ends = new Date(2026, 11, 4, 14, 32).toISOString();
    expect(emergencyAccessText(ends, now)).toBe(`Emergency access · ends ${clock(ends, { seconds: false })}`);
    expect(emergencyAccessText(ends, now)).toBe('Emergency access · ends 14:32');
  });

  it('writes the day too when the access ends on another day', () => {
    const lateNow = new Date(2026, 11, 4, 23, 40).getTime();
    const ends = new Date(2026, 11, 5, 0, 40).toISOString();
    expect(emergencyAccessText(ends, lateNow)).toBe('Emergency access · ends 2026-12-05 00:40');
    expect(exactTime(ends, { seconds: false, zone: false })).toBe('2026-12-05 00:40');
  });

  it('says "ended" once the end has passed, until the list drops the patient', () => {
    const ends = new Date(2026, 11, 4, 13, 30).toISOString();
    expect(emergencyAccessText(ends, now)).toBe('Emergency access · ended 13:30');
  });
});
