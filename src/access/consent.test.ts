import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CATEGORIES, type ConsentRecord, evaluateConsent, PURPOSES } from './consent.ts';

const NOW = Date.parse('2026-11-27T10:00:00Z');
const rec = (over: Partial<ConsentRecord>): ConsentRecord => ({
  id: 'c1',
  decision: 'permit',
  purposes: ['treatment'],
  categories: ['*'],
  periodStart: NOW - 86_400_000,
  periodEnd: null,
  status: 'active',
  recordedAt: NOW - 86_400_000,
  ...over,
});

describe('consent evaluation', () => {
  it('permits treatment and denies research when there is no record', () => {
    assert.equal(evaluateConsent([], 'treatment', 'vital-signs', NOW).permit, true);
    assert.equal(evaluateConsent([], 'research', 'vital-signs', NOW).permit, false);
  });

  it('lets the newest matching active record decide', () => {
    const records = [
      rec({ id: 'old', decision: 'permit', recordedAt: NOW - 5000 }),
      rec({ id: 'new', decision: 'deny', recordedAt: NOW - 1000 }),
    ];
    const d = evaluateConsent(records, 'treatment', 'alerts', NOW);
    assert.deepEqual([d.permit, d.by], [false, 'new']);
  });

  it('ignores revoked records, records outside their period, and other purposes or categories', () => {
    const records = [
      rec({ id: 'revoked', decision: 'deny', status: 'revoked', recordedAt: NOW - 10 }),
      rec({ id: 'future', decision: 'deny', periodStart: NOW + 1000, recordedAt: NOW - 9 }),
      rec({ id: 'expired', decision: 'deny', periodEnd: NOW, recordedAt: NOW - 8 }),
      rec({ id: 'research-only', decision: 'deny', purposes: ['research'], recordedAt: NOW - 7 }),
      rec({ id: 'identity-only', decision: 'deny', categories: ['identity'], recordedAt: NOW - 6 }),
    ];
    const d = evaluateConsent(records, 'treatment', 'vital-signs', NOW);
    assert.deepEqual([d.permit, d.by], [true, undefined]);
    assert.equal(evaluateConsent(records, 'research', 'vital-signs', NOW).by, 'research-only');
  });

  it('is decided by the newest applicable record whatever the order of the list (property)', () => {
    const record = fc.record({
      id: fc.string({ minLength: 1, maxLength: 4 }),
      decision: fc.constantFrom('permit', 'deny') as fc.Arbitrary<'permit' | 'deny'>,
      purposes: fc.subarray([...PURPOSES, '*'] as const, { minLength: 1 }),
      categories: fc.subarray([...CATEGORIES, '*'] as const, { minLength: 1 }),
      periodStart: fc.integer({ min: NOW - 1e6, max: NOW + 1e6 }),
      periodEnd: fc.option(fc.integer({ min: NOW - 1e6, max: NOW + 1e6 }), { nil: null }),
      status: fc.constantFrom('active', 'revoked') as fc.Arbitrary<'active' | 'revoked'>,
      recordedAt: fc.integer({ min: NOW - 1e6, max: NOW }),
    });
    fc.assert(
      fc.property(
        fc.array(record, { maxLength: 8 }),
        fc.constantFrom(...PURPOSES),
        fc.constantFrom(...CATEGORIES),
        (records, purpose, category) => {
          const a = evaluateConsent(records, purpose, category, NOW);
          const b = evaluateConsent([...records].reverse(), purpose, category, NOW);
          assert.deepEqual(a, b);
          if (a.by === undefined) assert.equal(a.permit, purpose === 'treatment');
        },
      ),
    );
  });
});
