import assert from 'node:assert/strict';
import { ApiTokens } from '../../src/access/api-tokens.ts';
import type { Harness } from './vigil-harness.ts';

/** A security officer's token and the InfuPro 300 model the posture tests' SBOMs describe. */
export async function withInfuProModel(h: Harness): Promise<string> {
  const security = (
    await new ApiTokens(h.vigil.store.db).create({ role: 'security', name: 'soc', ttlSeconds: 600 })
  ).token;
  const model = await h.api('/api/v1/posture/models', {
    method: 'PUT',
    token: security,
    body: {
      model: 'InfuPro 300',
      manufacturer: 'Acme Medical',
      deviceClass: 'infusion pump',
      criticality: 'life-sustaining',
      endOfSupport: '2030-01-01',
      encryption: 'in-transit',
      authentication: 'shared-secret',
      patchability: 'manual',
    },
  });
  assert.equal(model.status, 200, model.text);
  return security;
}
