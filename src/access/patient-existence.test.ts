import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConsentRecord } from './consent.ts';
import { isRefusalHidden } from './patient-existence.ts';

const NOW = Date.parse('2026-12-04T10:00:00Z');

const denying = (categories: ConsentRecord['categories']): ConsentRecord => ({
  id: 'c1',
  decision: 'deny',
  purposes: ['*'],
  categories,
  periodStart: NOW - 86_400_000,
  periodEnd: null,
  status: 'active',
  recordedAt: NOW - 86_400_000,
});

describe('isRefusalHidden', () => {
  it('hides from an integration a patient who refuses it every category', () => {
    assert.equal(isRefusalHidden('integration', [denying(['*'])], NOW), true);
    assert.equal(
      isRefusalHidden('integration', [denying(['vital-signs', 'alerts', 'identity', 'device'])], NOW),
      true,
    );
  });

  it('says refused, not unknown, to an integration that still sees the patient in another list', () => {
    assert.equal(isRefusalHidden('integration', [denying(['vital-signs'])], NOW), false);
    assert.equal(isRefusalHidden('integration', [denying(['vital-signs', 'alerts', 'device'])], NOW), false);
  });

  it('never hides a refusal from a clinician, whose refusals are the answer an unknown id gets', () => {
    assert.equal(isRefusalHidden('clinician', [denying(['*'])], NOW), false);
  });

  it('does not hide a refusal that has ended', () => {
    const ended = { ...denying(['*']), periodEnd: NOW - 1 };
    assert.equal(isRefusalHidden('integration', [ended], NOW), false);
  });
});
