import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from 'commander';
import fc from 'fast-check';
import { intOption, numberOption } from './context.ts';

const rate = numberOption('--rate', 0.001, 100);
const devices = intOption('--devices', 1, 1000);

/** Text near numbers: signs, exponents, radix prefixes, separators, padding. */
const numberish = fc.stringMatching(/^[\s+\-0-9.eExXbBoO_,]{0,12}$/);
const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), numberish);

/** The parsed number, or the message of the clear refusal; any other throw fails the property. */
function outcome(parse: (value: string) => number, value: string): number | string {
  try {
    return parse(value);
  } catch (e) {
    assert.ok(e instanceof InvalidArgumentError, `threw ${String(e)} for ${JSON.stringify(value)}`);
    return e.message;
  }
}

describe('number flags', () => {
  it('refuses hex, binary, exponents, signs, padding and separators, which Number() would take', () => {
    for (const value of [
      '0x10',
      '0b1',
      '0o7',
      '1e1',
      '1E1',
      ' 5',
      '5 ',
      '\t5',
      '5\n',
      '+5',
      '-0',
      '1_0',
      '1,5',
    ]) {
      assert.throws(() => rate(value), InvalidArgumentError, `--rate ${JSON.stringify(value)}`);
      assert.throws(() => devices(value), InvalidArgumentError, `--devices ${JSON.stringify(value)}`);
    }
    for (const value of ['', '.5', '5.', '007', '00.5', 'Infinity', 'NaN', '1.2.3']) {
      assert.throws(() => rate(value), InvalidArgumentError, `--rate ${JSON.stringify(value)}`);
    }
  });

  it('names the flag and the allowed range when it refuses', () => {
    assert.throws(() => rate('0x10'), { message: /^--rate must be a number from 0\.001 to 100\b/ });
    assert.throws(() => devices('1e1'), { message: /^--devices must be a whole number from 1 to 1000\b/ });
    assert.throws(() => rate('1000'), { message: /from 0\.001 to 100/ });
    assert.throws(() => devices('0'), { message: /from 1 to 1000/ });
  });

  it('takes a whole number only where a fraction makes no sense', () => {
    assert.throws(() => devices('2.5'), InvalidArgumentError);
    assert.throws(() => devices('2.0'), InvalidArgumentError);
    assert.equal(rate('2.5'), 2.5);
    assert.equal(rate('0.001'), 0.001);
  });

  it('answers any text with a number in range or the clear refusal, never another error', () => {
    fc.assert(
      fc.property(anyText, (value) => {
        for (const [parse, min, max] of [
          [rate, 0.001, 100],
          [devices, 1, 1000],
        ] as const) {
          const r = outcome(parse, value);
          if (typeof r === 'string') continue;
          assert.ok(r >= min && r <= max, `${JSON.stringify(value)} -> ${r}`);
          assert.match(value, /^(0|[1-9]\d*)(\.\d+)?$/, 'only plain decimal digits are taken');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('reads back every decimal number in range as itself', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.001, max: 100, noNaN: true }), (n) => {
        // In this range String() never uses an exponent, so it is how a person would write n.
        assert.equal(rate(String(n)), n);
      }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 999_999 }),
        (whole, fraction) => {
          const text = `${whole}.${String(fraction).padStart(6, '0')}`;
          const n = Number(text);
          if (n < 0.001 || n > 100) assert.throws(() => rate(text), InvalidArgumentError);
          else assert.equal(rate(text), n);
        },
      ),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), (n) => {
        assert.equal(devices(String(n)), n);
      }),
    );
  });

  it('refuses every whole number outside the range', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 1001, max: 2 ** 31 - 1 }), fc.constant(0)), (n) => {
        assert.throws(() => devices(String(n)), InvalidArgumentError);
      }),
    );
  });
});
