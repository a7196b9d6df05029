import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DevicePosture, PostureFinding, RiskBand, RiskScore } from '../api/posture.ts';
import { BANDS, devicesByBand, modelsNearEndOfSupport, topFindings } from './posture-summary.ts';

const band = fc.constantFrom<RiskBand>('critical', 'high', 'medium', 'low');
const riskArb: fc.Arbitrary<RiskScore> = fc
  .tuple(fc.integer({ min: 0, max: 100 }), band)
  .map(([score, b]) => ({ score, band: b, parts: [], multiplier: { value: 1, why: 'x1' } }));
const findingArb: fc.Arbitrary<PostureFinding> = fc.record({
  vulnerability: fc.constantFrom('CVE-1', 'CVE-2', 'CVE-3', 'CVE-4'),
  advisoryId: fc.constant('A'),
  summary: fc.constant('s'),
  component: fc.constant('c'),
  installedVersion: fc.constant('1'),
  fixedVersion: fc.option(fc.constant('2'), { nil: null }),
  fixFirmware: fc.option(fc.constant('9.9'), { nil: null }),
  status: fc.constant<PostureFinding['status']>('affected'),
  statusReason: fc.constant(null),
  cvss: fc.constant(null),
  kev: fc.boolean(),
  epss: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
  risk: riskArb,
});
const deviceArb = fc
  .record({
    id: fc.string(),
    model: fc.constantFrom('A', 'B', 'C'),
    risk: riskArb,
    findings: fc.array(findingArb, { maxLength: 5 }),
    support: fc.oneof(
      fc.constant({ state: 'unknown' as const, daysLeft: null }),
      fc.integer({ min: -500, max: 500 }).map((d) => ({
        state:
          d <= 0
            ? ('legacy' as const)
            : d <= 180
              ? ('ends-within-180-days' as const)
              : ('supported' as const),
        daysLeft: d,
      })),
    ),
    manufacturer: fc.constant(null),
  })
  .map((d) => d as unknown as DevicePosture); // only the fields the summary reads

describe('fleet posture summary (property)', () => {
  it('counts every device in exactly one risk level', () => {
    fc.assert(
      fc.property(fc.array(deviceArb, { maxLength: 30 }), (devices) => {
        const counts = devicesByBand(devices);
        expect(BANDS.reduce((n, b) => n + counts[b], 0)).toBe(devices.length);
      }),
    );
  });

  it('lists each vulnerability once, riskiest first, with the devices that carry it', () => {
    fc.assert(
      fc.property(fc.array(deviceArb, { maxLength: 30 }), (devices) => {
        const top = topFindings(devices, 100);
        expect(new Set(top.map((f) => f.vulnerability)).size).toBe(top.length);
        for (let i = 1; i < top.length; i++)
          expect(top[i - 1]!.worst.score).toBeGreaterThanOrEqual(top[i]!.worst.score);
        for (const f of top) {
          const carrying = devices
            .flatMap((d) => d.findings)
            .filter((x) => x.vulnerability === f.vulnerability);
          expect(f.devices).toBe(carrying.length);
          expect(f.worst.score).toBe(Math.max(...carrying.map((x) => x.risk?.score ?? 0)));
        }
      }),
    );
  });

  it('names only models past or within 180 days of end of support, soonest first', () => {
    fc.assert(
      fc.property(fc.array(deviceArb, { maxLength: 30 }), (devices) => {
        const models = modelsNearEndOfSupport(devices);
        for (const m of models)
          expect(m.support.state === 'legacy' || m.support.state.startsWith('ends')).toBe(true);
        expect(new Set(models.map((m) => m.model)).size).toBe(models.length);
      }),
    );
  });
});
