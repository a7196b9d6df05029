import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { newRecoveryCode, parseRecoveryCode, recoveryCodeHash } from './recovery-codes.ts';

describe('recovery codes', () => {
  it('are four groups of four characters without look-alikes, all different', () => {
    const codes = Array.from({ length: 50 }, newRecoveryCode);
    for (const c of codes) assert.match(c, /^[a-hj-km-np-z2-9]{4}(-[a-hj-km-np-z2-9]{4}){3}$/);
    assert.equal(new Set(codes).size, codes.length);
  });

  it('are read as people type them: any case, spaces or no hyphens', () => {
    const c = newRecoveryCode();
    assert.equal(parseRecoveryCode(c.toUpperCase()), c);
    assert.equal(parseRecoveryCode(c.replaceAll('-', '')), c);
    assert.equal(parseRecoveryCode(` ${c.replaceAll('-', ' ')} `), c);
    assert.equal(parseRecoveryCode('0000-1111-llll-oooo'), undefined);
  });

  it('hash per user: the same code under another user is another hash', () => {
    const c = newRecoveryCode();
    assert.notEqual(recoveryCodeHash('usr-a', c), recoveryCodeHash('usr-b', c));
  });

  it('parsing never throws and yields only canonical codes that parse to themselves', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 80 }),
          fc.constantFrom(...Array.from({ length: 5 }, newRecoveryCode)),
        ),
        (s) => {
          const parsed = parseRecoveryCode(s);
          if (parsed !== undefined) assert.equal(parseRecoveryCode(parsed), parsed);
        },
      ),
      { numRuns: 1000 },
    );
    fc.assert(fc.property(fc.anything(), (x) => void parseRecoveryCode(x as string)));
  });
});
