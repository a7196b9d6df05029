/**
 * Property tests of CVSS scoring (STYLE.md 13): any text gives a base score from 0.0 to 10.0 in
 * steps of 0.1, or a text saying what is wrong, and never throws; every CVSS 3.1 base vector
 * scores as the formula of the CVSS v3.1 specification §7.1 (with Roundup of Appendix A).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type CvssResult, scoreVector } from './cvss.ts';

const RUNS = { numRuns: 500 };

const AV = { N: 0.85, A: 0.62, L: 0.55, P: 0.2 } as const;
const AC = { L: 0.77, H: 0.44 } as const;
const UI = { N: 0.85, R: 0.62 } as const;
const CIA = { H: 0.56, L: 0.22, N: 0 } as const;

interface Base31 {
  AV: keyof typeof AV;
  AC: keyof typeof AC;
  PR: 'N' | 'L' | 'H';
  UI: keyof typeof UI;
  S: 'U' | 'C';
  C: keyof typeof CIA;
  I: keyof typeof CIA;
  A: keyof typeof CIA;
}

const METRICS = ['AV', 'AC', 'PR', 'UI', 'S', 'C', 'I', 'A'] as const;

const arbBase31: fc.Arbitrary<Base31> = fc.record({
  AV: fc.constantFrom('N', 'A', 'L', 'P'),
  AC: fc.constantFrom('L', 'H'),
  PR: fc.constantFrom('N', 'L', 'H'),
  UI: fc.constantFrom('N', 'R'),
  S: fc.constantFrom('U', 'C'),
  C: fc.constantFrom('H', 'L', 'N'),
  I: fc.constantFrom('H', 'L', 'N'),
  A: fc.constantFrom('H', 'L', 'N'),
});

const vector31 = (b: Base31) => `CVSS:3.1/${METRICS.map((m) => `${m}:${b[m]}`).join('/')}`;

/** CVSS v3.1 Appendix A: the smallest one-decimal number not below x, free of float noise. */
function roundup(x: number): number {
  const scaled = Math.round(x * 100_000);
  return scaled % 10_000 === 0 ? scaled / 100_000 : (Math.floor(scaled / 10_000) + 1) / 10;
}

/** CVSS v3.1 §7.1, written from the specification. */
function specBase31(b: Base31): number {
  const isChanged = b.S === 'C';
  const pr = { N: 0.85, L: isChanged ? 0.68 : 0.62, H: isChanged ? 0.5 : 0.27 }[b.PR];
  const iss = 1 - (1 - CIA[b.C]) * (1 - CIA[b.I]) * (1 - CIA[b.A]);
  const impact = isChanged ? 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 : 6.42 * iss;
  const exploitability = 8.22 * AV[b.AV] * AC[b.AC] * pr * UI[b.UI];
  if (impact <= 0) return 0;
  return roundup(Math.min((isChanged ? 1.08 : 1) * (impact + exploitability), 10));
}

function isOneDecimalScore(n: number): boolean {
  return n >= 0 && n <= 10 && Math.abs(n * 10 - Math.round(n * 10)) < 1e-9;
}

const arbVectorish = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc
    .tuple(
      fc.constantFrom('CVSS:4.0/', 'CVSS:3.1/', 'CVSS:3.0/', 'AV:N/', '(AV:L/', ''),
      fc.array(
        fc.tuple(
          fc.constantFrom(
            'AV',
            'AC',
            'AT',
            'PR',
            'UI',
            'S',
            'C',
            'I',
            'A',
            'Au',
            'VC',
            'VI',
            'VA',
            'SC',
            'SI',
            'SA',
            'E',
            'X',
          ),
          fc.constantFrom('N', 'L', 'H', 'A', 'P', 'R', 'U', 'C', 'M', 'S', 'X', 'Q', ''),
        ),
        { maxLength: 14 },
      ),
    )
    .map(([prefix, parts]) => prefix + parts.map(([m, v]) => `${m}:${v}`).join('/')),
  arbBase31.map(vector31).chain((v) => fc.nat({ max: v.length }).map((cut) => v.slice(0, cut))),
);

describe('scoreVector, properties', () => {
  it('answers a one-decimal score in 0..10 or an error text for any string, and never throws', () => {
    fc.assert(
      fc.property(arbVectorish, (vector) => {
        const out = scoreVector(vector);
        if (typeof out === 'string') {
          assert.ok(out.length > 0 && out.length < 400, out);
          return;
        }
        assert.ok(isOneDecimalScore(out.base), `${vector} gave ${out.base}`);
        assert.equal(out.vector, vector);
      }),
      RUNS,
    );
  });

  it('scores every CVSS 3.1 base vector as the specification formula does', () => {
    fc.assert(
      fc.property(arbBase31, (b) => {
        const out = scoreVector(vector31(b)) as CvssResult;
        assert.equal(typeof out, 'object', String(out));
        assert.equal(out.version, '3.1');
        assert.equal(out.base, specBase31(b), vector31(b));
      }),
      RUNS,
    );
  });

  it('scores the well-known vectors as NVD publishes them', () => {
    const known: Array<[string, number]> = [
      ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
      ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', 10],
      ['CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N', 5.5],
      ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
      ['CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N', 3.1],
      ['CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N', 0],
    ];
    for (const [vector, base] of known) {
      assert.equal((scoreVector(vector) as CvssResult).base, base, vector);
    }
  });

  it('refuses a CVSS 3.1 vector with a base metric missing or given twice', () => {
    fc.assert(
      fc.property(arbBase31, fc.constantFrom(...METRICS), fc.boolean(), (b, metric, isDropped) => {
        const parts = METRICS.map((m) => `${m}:${b[m]}`);
        const at = METRICS.indexOf(metric);
        if (isDropped) parts.splice(at, 1);
        else parts.push(parts[at] ?? '');
        const vector = `CVSS:3.1/${parts.join('/')}`;
        assert.equal(typeof scoreVector(vector), 'string', `${vector} was scored`);
      }),
      RUNS,
    );
  });
});
