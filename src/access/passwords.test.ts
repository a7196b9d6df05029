import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decoyHash, HASH_PARAMS, hashPassword, needsRehash, verifyPassword } from './passwords.ts';

describe('password hashing', () => {
  it('hashes with argon2id at the OWASP parameters, salted', async () => {
    const a = await hashPassword('purple tractor on a windy hill');
    const b = await hashPassword('purple tractor on a windy hill');
    assert.match(a, new RegExp(`^\\$argon2id\\$v=19\\$m=${HASH_PARAMS.memoryCost},t=2,p=1\\$`));
    assert.notEqual(a, b, 'each hash has its own salt');
    assert.equal(needsRehash(a), false);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const h = await hashPassword('purple tractor on a windy hill');
    assert.equal(await verifyPassword(h, 'purple tractor on a windy hill'), true);
    assert.equal(await verifyPassword(h, 'purple tractor on a windy hil'), false);
  });

  it('treats canonically equal Unicode spellings as the same password (NFKC)', async () => {
    const h = await hashPassword('café au lait tous les jours');
    assert.equal(await verifyPassword(h, 'cafe\u0301 au lait tous les jours'), true);
  });

  it('answers false, not an exception, for a stored value that is not a hash', async () => {
    assert.equal(await verifyPassword('not-a-hash', 'whatever'), false);
    assert.equal(await verifyPassword('', ''), false);
  });

  it('asks for a rehash of weaker or foreign hashes', () => {
    assert.equal(needsRehash('$argon2id$v=19$m=4096,t=1,p=1$c2FsdHNhbHQ$aGFzaA'), true);
    assert.equal(needsRehash('$2b$10$abcdefghijklmnopqrstuv'), true);
  });

  it('has a decoy hash that no password opens', async () => {
    const d = await decoyHash();
    assert.match(d, /^\$argon2id\$/);
    assert.equal(await verifyPassword(d, ''), false);
  });
});
