import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VigilError } from '../errors/catalogue.ts';
import { modelFrom } from './posture-service.ts';

const modelWithEndOfSupport = (endOfSupport: string) =>
  modelFrom({
    model: 'InfuPro 300',
    manufacturer: 'Acme Medical',
    deviceClass: 'infusion pump',
    criticality: 'life-sustaining',
    endOfSupport,
    encryption: 'in-transit',
    authentication: 'shared-secret',
    patchability: 'manual',
  });

describe('device model end of support', () => {
  it('takes a calendar day as midnight UTC', () => {
    assert.equal(modelWithEndOfSupport('2028-02-29').endOfSupportMs, Date.parse('2028-02-29T00:00:00Z'));
    assert.equal(modelWithEndOfSupport('2026-12-31').endOfSupportMs, Date.parse('2026-12-31T00:00:00Z'));
    assert.equal(modelWithEndOfSupport('0099-01-01').endOfSupportMs, Date.parse('0099-01-01T00:00:00Z'));
  });

  for (const day of ['2026-02-29', '2026-02-31', '2026-04-31', '2026-13-01', '2026-00-10', '2026-01-00']) {
    it(`refuses ${day}, which is not a day, rather than roll it over`, () => {
      assert.throws(
        () => modelWithEndOfSupport(day),
        (e) =>
          e instanceof VigilError &&
          e.code === 'VIGIL_ERR_REQUEST_INVALID' &&
          e.detail.includes(`"${day}" is not a day in the calendar`),
      );
    });
  }

  it('refuses what is not YYYY-MM-DD', () => {
    assert.throws(() => modelWithEndOfSupport('31/12/2026'), /must be a date YYYY-MM-DD/);
  });
});
