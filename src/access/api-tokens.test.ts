import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { tempStore } from '../../test/support/temp-store.ts';
import { isVigilError } from '../errors/catalogue.ts';
import { ApiTokens, parseScopes } from './api-tokens.ts';
import { PERMISSIONS } from './roles.ts';

describe('API token scopes', () => {
  let t: Awaited<ReturnType<typeof tempStore>>;
  before(async () => {
    t = await tempStore();
  });
  after(() => t.cleanup());

  it('narrows a role to some of its permissions, never beyond it', async () => {
    const tokens = new ApiTokens(t.store.db);
    const ok = await tokens.create({
      role: 'clinician',
      name: 'ward',
      ttlSeconds: 600,
      scopes: ['devices:read'],
    });
    const who = await tokens.verify(ok.token);
    assert.deepEqual(who.scopes, ['devices:read']);
    assert.equal(who.actor, 'token:ward');
    await assert.rejects(
      tokens.create({ role: 'clinician', name: 'wide', ttlSeconds: 600, scopes: ['users:write'] }),
      (e) => isVigilError(e) && /not a permission of role clinician/.test(e.detail),
    );
    const unscoped = await tokens.verify(
      (await tokens.create({ role: 'auditor', name: 'a', ttlSeconds: 600 })).token,
    );
    assert.equal(unscoped.scopes, undefined);
  });

  it('reads stored scopes without ever throwing or widening', () => {
    assert.equal(parseScopes(null), undefined);
    assert.deepEqual(parseScopes('["audit:read","nonsense"]'), ['audit:read']);
    assert.deepEqual(parseScopes('not json'), []);
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        const scopes = parseScopes(text);
        assert.ok(scopes?.every((s) => (PERMISSIONS as readonly string[]).includes(s)));
      }),
      { numRuns: 500 },
    );
  });
});

describe('API token refusals', () => {
  let t: Awaited<ReturnType<typeof tempStore>>;
  before(async () => {
    t = await tempStore();
  });
  after(() => t.cleanup());

  /** The detail a refused token gets, or undefined if it was accepted. */
  async function refusal(tokens: ApiTokens, token: string, nowMs?: number): Promise<string | undefined> {
    try {
      await tokens.verify(token, nowMs);
      return undefined;
    } catch (e) {
      assert.ok(isVigilError(e));
      assert.equal(e.code, 'VIGIL_ERR_AUTH_REQUIRED');
      return e.detail;
    }
  }

  it('answers an unknown, wrong, expired or revoked token alike, with what to do', async () => {
    const tokens = new ApiTokens(t.store.db);
    const created = await tokens.create({ role: 'auditor', name: 'siem', ttlSeconds: 600 });
    const revoked = await tokens.create({ role: 'auditor', name: 'old', ttlSeconds: 600 });
    assert.equal(await tokens.revoke(revoked.id), true);
    const [prefix] = created.token.split('.');
    const wrongSecret = `${prefix}.${'A'.repeat(43)}`;
    const unknownId = `vgl_${'0'.repeat(16)}.${'A'.repeat(43)}`;
    const details = [
      await refusal(tokens, unknownId),
      await refusal(tokens, wrongSecret),
      await refusal(new ApiTokens(t.store.db), created.token, created.expiresAt + 1),
      await refusal(tokens, revoked.token),
    ];
    assert.deepEqual(
      new Set(details),
      new Set([
        'the bearer token is not valid (unknown, expired or revoked); ask an administrator for a new one or create one with "vigil token create"',
      ]),
    );
    assert.match(
      (await refusal(tokens, 'not-a-token')) ?? '',
      /malformed; create one with "vigil token create"/,
    );
  });

  it('refuses a token from the next request on once another process has revoked it', async () => {
    const server = new ApiTokens(t.store.db);
    const created = await server.create({ role: 'clinician', name: 'leaked', ttlSeconds: 600 });
    assert.equal((await server.verify(created.token)).tokenId, created.id);
    // The console's own instance, as `vigil token revoke` makes it, shares nothing with the server's.
    assert.equal(await new ApiTokens(t.store.db).revoke(created.id), true);
    assert.match((await refusal(server, created.token)) ?? 'accepted', /not valid/);
  });

  describe('names, which are audit actors and care-team members', () => {
    const nameTaken = (e: unknown) => isVigilError(e) && e.code === 'VIGIL_ERR_USER_EXISTS';

    it('refuses a name an unrevoked, unexpired token holds', async () => {
      const tokens = new ApiTokens(t.store.db);
      const nowMs = Date.now();
      const first = await tokens.createUnique({ role: 'clinician', name: 'dup', ttlSeconds: 600 }, nowMs);
      await assert.rejects(
        tokens.createUnique({ role: 'clinician', name: 'dup', ttlSeconds: 600 }, nowMs),
        (e) => nameTaken(e) && /"dup" is already in use.*revoke that token first/.test((e as Error).message),
      );
      // Past its end, or revoked, a name is free again: nobody holds it any more.
      await tokens.createUnique({ role: 'auditor', name: 'dup', ttlSeconds: 600 }, first.expiresAt);
      const later = first.expiresAt + 1;
      const second = await tokens.createUnique({ role: 'auditor', name: 'dup2', ttlSeconds: 600 }, later);
      await tokens.revoke(second.id);
      await tokens.createUnique({ role: 'auditor', name: 'dup2', ttlSeconds: 600 }, later);
    });
  });
});
