import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../../errors/catalogue.ts';
import { AlertRulesSchema, DEFAULT_ALERT_RULES, parseRuleOverrides } from './alert-rules.ts';

const bounds = Object.entries(AlertRulesSchema.properties).map(
  ([name, schema]) =>
    [name, (schema as { minimum: number }).minimum, (schema as { maximum: number }).maximum] as const,
);

/** Overrides with every value inside its documented range. */
const inRangeArb = fc.record(
  Object.fromEntries(bounds.map(([name, min, max]) => [name, fc.double({ min, max, noNaN: true })])),
  { requiredKeys: [] },
);

describe('alert rule overrides parser', () => {
  it('refuses any JSON value with a VigilError, or returns rules made of defaults and overrides', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (input) => {
        try {
          const { rules, overrides } = parseRuleOverrides(input);
          assert.deepEqual(rules, { ...DEFAULT_ALERT_RULES, ...overrides });
        } catch (e) {
          assert.ok(isVigilError(e) && e.code === 'VIGIL_ERR_REQUEST_INVALID', String(e));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('accepts in-range overrides unless they put thresholds out of order', () => {
    fc.assert(
      fc.property(inRangeArb, (input) => {
        const r = { ...DEFAULT_ALERT_RULES, ...input };
        const isOrdered =
          r.glucoseUrgentLowMgDl < r.glucoseLowMgDl &&
          r.glucoseLowMgDl < r.glucoseHighMgDl &&
          r.heartRateLowPerMinute < r.heartRateHighPerMinute;
        if (isOrdered) assert.deepEqual(parseRuleOverrides(input).rules, r);
        else assert.throws(() => parseRuleOverrides(input), isVigilError);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a value out of range, naming the rule', () => {
    fc.assert(
      fc.property(fc.constantFrom(...bounds), fc.boolean(), ([name, min, max], below) => {
        const value = below ? min - 1 : max + 1;
        assert.throws(
          () => parseRuleOverrides({ [name]: value }),
          (e: unknown) => isVigilError(e) && e.detail.includes(name),
        );
      }),
    );
  });

  it('refuses unknown rules and non-numbers', () => {
    assert.throws(() => parseRuleOverrides({ spo2Low: 88 }), /unknown/);
    assert.throws(() => parseRuleOverrides({ spo2LowPercent: '88' }), isVigilError);
    assert.throws(() => parseRuleOverrides([]), isVigilError);
    assert.throws(() => parseRuleOverrides(null), isVigilError);
  });
});
