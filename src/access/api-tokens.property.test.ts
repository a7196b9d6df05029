/**
 * Property tests of the token lifetime reader (STYLE.md 13): any text gives a number of
 * seconds from 1 minute to 366 days, or a VIGIL_ERR_REQUEST_INVALID saying what to type.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { VigilError } from '../errors/catalogue.ts';
import { parseTtl } from './api-tokens.ts';

const RUNS = { numRuns: 2000 };
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
const MIN_SECONDS = 60;
const MAX_SECONDS = 366 * 86_400;

function ttlOrRefusal(text: string): number | VigilError {
  try {
    return parseTtl(text);
  } catch (e) {
    if (!(e instanceof VigilError)) throw e;
    assert.equal(e.code, 'VIGIL_ERR_REQUEST_INVALID');
    assert.ok(e.detail.length > 0 && e.detail.length < 200, e.detail);
    return e;
  }
}

const arbTtlish = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: fc.constantFrom(...'0123456789smhdwy .+-eMHD'.split('')), maxLength: 10 }),
  fc.tuple(fc.nat(), fc.constantFrom('s', 'm', 'h', 'd')).map(([n, u]) => `${n}${u}`),
);

describe('parseTtl, properties', () => {
  it('answers seconds within 1m..366d or a VigilError for any string', () => {
    fc.assert(
      fc.property(arbTtlish, (text) => {
        const out = ttlOrRefusal(text);
        if (out instanceof VigilError) return;
        assert.ok(Number.isInteger(out) && out >= MIN_SECONDS && out <= MAX_SECONDS, `${text} gave ${out}`);
        // Only the documented grammar, a count and one unit letter, is ever accepted.
        assert.match(text, /^\d+[smhd]$/);
      }),
      RUNS,
    );
  });

  it('accepts <n><unit> exactly when it lies within 1m..366d, and gives n times the unit', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: 0, max: 600 })),
        fc.constantFrom(...(Object.keys(UNIT_SECONDS) as Array<keyof typeof UNIT_SECONDS>)),
        (n, unit) => {
          const expected = n * UNIT_SECONDS[unit];
          const out = ttlOrRefusal(`${n}${unit}`);
          if (expected >= MIN_SECONDS && expected <= MAX_SECONDS) assert.equal(out, expected);
          else assert.ok(out instanceof VigilError, `${n}${unit} gave ${String(out)}`);
        },
      ),
      RUNS,
    );
  });

  it('refuses a valid duration with padding, a sign, a fraction or a second unit around it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 366 }),
        fc.constantFrom(
          (s: string) => ` ${s}`,
          (s: string) => `${s} `,
          (s: string) => `${s}\n`,
          (s: string) => `+${s}`,
          (s: string) => `-${s}`,
          (s: string) => `${s}d`,
          (s: string) => s.toUpperCase(),
          (s: string) => s.replace(/d$/, '.5d'),
          (s: string) => s.replace(/d$/, ''),
        ),
        (days, decorate) => {
          const text = decorate(`${days}d`);
          assert.ok(ttlOrRefusal(text) instanceof VigilError, text);
        },
      ),
      RUNS,
    );
  });
});
