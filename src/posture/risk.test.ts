import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scoreVector } from './cvss.ts';
import { supportStatus } from './end-of-support.ts';
import { deviceRisk, type Exposure, findingRisk } from './risk.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-09-15T00:00:00Z');
const exposure = (over: Partial<Exposure> = {}): Exposure => ({
  zone: 'clinical',
  connection: 'mtls',
  internetReachable: false,
  support: supportStatus(null, NOW),
  criticality: 'monitoring',
  ...over,
});
const cvss = (v: string) => {
  const r = scoreVector(v);
  assert.ok(typeof r !== 'string', String(r));
  return r;
};
const CRIT_31 = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';

describe('CVSS from the vector', () => {
  it('computes v3.1 and v4.0 base scores and refuses nonsense with a reason', () => {
    assert.equal(cvss(CRIT_31).base, 9.8);
    assert.equal(cvss('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N').base, 9.3);
    assert.match(String(scoreVector('CVSS:3.1/AV:Q/AC:L')), /not a valid CVSS vector/);
    assert.match(String(scoreVector('high')), /not a CVSS/);
  });
});

describe('end of support', () => {
  it('warns 180, 90 and 30 days ahead and flags legacy after', () => {
    const at = (days: number) => supportStatus(NOW + days * DAY, NOW).state;
    assert.deepEqual(
      [at(400), at(180), at(91), at(90), at(30), at(1), at(0), at(-10)],
      [
        'supported',
        'ends-within-180-days',
        'ends-within-180-days',
        'ends-within-90-days',
        'ends-within-30-days',
        'ends-within-30-days',
        'legacy',
        'legacy',
      ],
    );
  });
});

describe('risk score', () => {
  const base = {
    cvss: cvss(CRIT_31),
    statedSeverity: null,
    kev: undefined,
    epss: undefined,
    fixAvailable: true,
  };

  it('is the sum of its listed parts times the criticality multiplier', () => {
    const r = findingRisk(base, exposure());
    const sum = r.parts.reduce((s, p) => s + p.points, 0);
    assert.equal(r.score, Math.min(100, Math.round(sum * r.multiplier.value)));
    assert.ok(r.parts.every((p) => p.why.length > 0));
  });

  it('rises with known exploitation, exposure, legacy auth, end of support, criticality and no fix', () => {
    const plain = findingRisk(base, exposure()).score;
    const worse = [
      findingRisk(
        {
          ...base,
          kev: {
            cve: 'x',
            vendor: '',
            product: '',
            name: '',
            dateAdded: '2026-01-01',
            dueDate: null,
            knownRansomware: false,
          },
        },
        exposure(),
      ),
      findingRisk({ ...base, epss: { cve: 'x', probability: 0.9, percentile: 0.99 } }, exposure()),
      findingRisk(base, exposure({ zone: 'internet' })),
      findingRisk(base, exposure({ internetReachable: true })),
      findingRisk(base, exposure({ connection: 'legacy' })),
      findingRisk(base, exposure({ support: supportStatus(NOW - DAY, NOW) })),
      findingRisk(base, exposure({ criticality: 'life-sustaining' })),
      findingRisk({ ...base, fixAvailable: false }, exposure()),
    ];
    for (const w of worse)
      assert.ok(w.score > plain, `${w.parts.map((p) => p.why).join(', ')} should score above ${plain}`);
    assert.ok(findingRisk(base, exposure({ criticality: 'wellness' })).score < plain);
  });

  it('scores a device without findings from its exposure and flags an expiring certificate', () => {
    const r = deviceRisk([], exposure({ connection: 'legacy', support: supportStatus(NOW - DAY, NOW) }), 10);
    assert.deepEqual(
      r.parts.map((p) => p.factor),
      ['exposure', 'authentication', 'end-of-support', 'certificate'],
    );
  });

  it('takes the worst finding and adds for each further serious one', () => {
    const high = findingRisk(base, exposure({ criticality: 'life-sustaining' }));
    const r = deviceRisk([high, high, high], exposure(), null);
    assert.equal(r.score, Math.min(100, high.score + 4));
  });
});
