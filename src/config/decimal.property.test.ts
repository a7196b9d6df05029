/**
 * Property tests of the decimal reader (STYLE.md 13): whatever an operator types, parseDecimal
 * and parseWholeSetting answer a number in range or undefined, never throw, and take back
 * exactly the plain decimal spelling of every number in range.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseDecimal, parseWholeSetting } from './decimal.ts';

const RUNS = { numRuns: 2000 };

const arbRange = fc
  .tuple(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 1_000_000 }))
  .map(([a, b]) => ({ min: Math.min(a, b), max: Math.max(a, b) }));

/** Strings near the grammar: digits, signs, dots, exponents, hex prefixes and padding. */
const arbNumberish = fc.oneof(
  fc.string(),
  fc.string({ unit: fc.constantFrom(...'0123456789.+-eExXbBoO _\t\n,'.split('')), maxLength: 12 }),
  fc.integer({ min: -10, max: 2_000_000 }).map(String),
  fc.double().map(String),
);

describe('parseDecimal, properties', () => {
  it('answers a number in range or undefined for any string, and never throws', () => {
    fc.assert(
      fc.property(arbNumberish, arbRange, fc.boolean(), (text, range, isWhole) => {
        const n = parseDecimal(text, { ...range, isWhole });
        if (n === undefined) return;
        assert.ok(Number.isFinite(n) && n >= range.min && n <= range.max, `${text} gave ${n}`);
        assert.match(text, isWhole ? /^(0|[1-9]\d*)$/ : /^(0|[1-9]\d*)(\.\d+)?$/);
        if (isWhole) assert.ok(Number.isInteger(n) && String(n) === text, `${text} gave ${n}`);
      }),
      RUNS,
    );
  });

  it('takes back every whole number in range from its plain spelling', () => {
    fc.assert(
      fc.property(
        arbRange.chain((r) => fc.tuple(fc.constant(r), fc.integer(r))),
        fc.boolean(),
        ([range, n], isWhole) => {
          assert.equal(parseDecimal(String(n), { ...range, isWhole }), n);
        },
      ),
      RUNS,
    );
  });

  it('refuses whole numbers outside the range', () => {
    fc.assert(
      fc.property(arbRange, fc.integer({ min: 0, max: 3_000_000 }), (range, n) => {
        fc.pre(n < range.min || n > range.max);
        assert.equal(parseDecimal(String(n), { ...range, isWhole: true }), undefined);
      }),
      RUNS,
    );
  });

  it('refuses a sign, padding, leading zero, exponent, hex or fraction around a valid whole number', () => {
    const decorations = [
      (s: string) => `+${s}`,
      (s: string) => `-${s}`,
      (s: string) => ` ${s}`,
      (s: string) => `${s} `,
      (s: string) => `${s}\n`,
      (s: string) => `0${s}`,
      (s: string) => `${s}e0`,
      (s: string) => `${s}.0`,
      (s: string) => `${s}.`,
      (s: string) => `0x${Number(s).toString(16)}`,
      (s: string) => `0b${Number(s).toString(2)}`,
      (s: string) => `${s}_0`,
    ];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.constantFrom(...decorations), (n, decorate) => {
        const text = decorate(String(n));
        assert.equal(parseDecimal(text, { min: 0, max: 1e12, isWhole: true }), undefined, text);
      }),
      RUNS,
    );
  });

  it('takes back a plain decimal fraction where fractions are allowed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999 }), fc.stringMatching(/^\d{1,6}$/), (whole, fraction) => {
        const text = `${whole}.${fraction}`;
        assert.equal(parseDecimal(text, { min: 0, max: 1e6, isWhole: false }), Number(text));
        assert.equal(parseDecimal(text, { min: 0, max: 1e6, isWhole: true }), undefined);
      }),
      RUNS,
    );
  });
});

describe('parseWholeSetting, properties', () => {
  it('answers an integer in range or undefined for any JSON value, and never throws', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), arbNumberish, fc.double()), arbRange, (value, range) => {
        const n = parseWholeSetting(value, range.min, range.max);
        if (n === undefined) return;
        assert.ok(Number.isInteger(n) && n >= range.min && n <= range.max, `${String(value)} gave ${n}`);
        assert.ok(
          typeof value === 'number' ? value === n : value === String(n),
          `${String(value)} gave ${n}`,
        );
      }),
      RUNS,
    );
  });

  it('reads a whole number in range the same from a config file (number) and a variable (digits)', () => {
    fc.assert(
      fc.property(
        arbRange.chain((r) => fc.tuple(fc.constant(r), fc.integer(r))),
        ([range, n]) => {
          assert.equal(parseWholeSetting(n, range.min, range.max), n);
          assert.equal(parseWholeSetting(String(n), range.min, range.max), n);
        },
      ),
      RUNS,
    );
  });
});
