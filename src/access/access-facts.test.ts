import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../errors/catalogue.ts';
import { type AccessFacts, accessBasis, decideAccess } from './access-facts.ts';
import { CATEGORIES, type ConsentRecord, PURPOSES } from './consent.ts';

const NOW = Date.parse('2026-12-04T10:00:00Z');
const clinician = { role: 'clinician' as const, name: 'dr-who', actor: 'user:dr-who' };

const refusing = (purposes: ConsentRecord['purposes']): ConsentRecord => ({
  id: 'c1',
  decision: 'deny',
  purposes,
  categories: [...CATEGORIES],
  periodStart: NOW - 86_400_000,
  periodEnd: null,
  status: 'active',
  recordedAt: NOW - 86_400_000,
});

const facts = (over: Partial<AccessFacts>): AccessFacts => ({
  patient: 'active',
  breakGlassId: undefined,
  onCareTeam: false,
  consents: [],
  ...over,
});

const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (isVigilError(e) && e.code === 'VIGIL_ERR_AUTH_FORBIDDEN') return e.detail;
    throw e;
  }
  return 'granted';
};

describe('decideAccess and break-glass', () => {
  it('overrides a refusal for treatment, the emergency it exists for', () => {
    const grant = decideAccess(
      clinician,
      'p1',
      facts({ breakGlassId: 'bg1', consents: [refusing(['treatment'])] }),
      'treatment',
      'vital-signs',
      NOW,
    );
    assert.equal(grant.basis, 'break-glass');
    assert.equal(grant.breakGlassId, 'bg1');
  });

  it('opens nothing for research or payment, whatever the consent says', () => {
    for (const consents of [[refusing(['research', 'payment'])], []]) {
      for (const purpose of ['research', 'payment'] as const) {
        const why = refusal(() =>
          decideAccess(
            clinician,
            'p1',
            facts({ breakGlassId: 'bg1', consents }),
            purpose,
            'vital-signs',
            NOW,
          ),
        );
        assert.match(why, new RegExp(`break-glass opens a record for treatment only, not for ${purpose}`));
      }
    }
  });

  it('leaves a care-team member’s other purposes to the consent alone', () => {
    const on = facts({
      breakGlassId: 'bg1',
      onCareTeam: true,
      consents: [{ ...refusing(['research']), decision: 'permit' }],
    });
    assert.equal(decideAccess(clinician, 'p1', on, 'research', 'vital-signs', NOW).basis, 'care-team');
    const refused = facts({ breakGlassId: 'bg1', onCareTeam: true, consents: [refusing(['research'])] });
    assert.notEqual(
      refusal(() => decideAccess(clinician, 'p1', refused, 'research', 'vital-signs', NOW)),
      'granted',
    );
  });

  it('never grants a non-treatment purpose against a refusal, for any facts', () => {
    const nonTreatment = PURPOSES.filter((p) => p !== 'treatment');
    fc.assert(
      fc.property(
        fc.constantFrom(...nonTreatment),
        fc.constantFrom(...CATEGORIES),
        fc.boolean(),
        fc.option(fc.constant('bg1'), { nil: undefined }),
        (purpose, category, onCareTeam, breakGlassId) => {
          const f = facts({ onCareTeam, breakGlassId, consents: [refusing([purpose])] });
          return refusal(() => decideAccess(clinician, 'p1', f, purpose, category, NOW)) !== 'granted';
        },
      ),
    );
  });
});

describe('accessBasis, the decision before consent', () => {
  it('lets a care-team clinician through whatever the consent says (they may read the refusal)', () => {
    const own = facts({ onCareTeam: true, consents: [refusing(['*'])] });
    assert.deepEqual(accessBasis(clinician, 'p1', own, 'treatment'), { basis: 'care-team' });
    assert.notEqual(
      refusal(() => decideAccess(clinician, 'p1', own, 'treatment', 'vital-signs', NOW)),
      'granted',
    );
  });

  it('refuses a clinician without link or grant with the care-team detail decideAccess gives', () => {
    const foreign = facts({ consents: [refusing(['*'])] });
    const why = refusal(() => accessBasis(clinician, 'p1', foreign, 'treatment'));
    assert.match(why, /no care-team link \(an emergency may use break-glass/);
    assert.equal(
      why,
      refusal(() => decideAccess(clinician, 'p1', foreign, 'treatment', 'vital-signs', NOW)),
    );
  });
});
