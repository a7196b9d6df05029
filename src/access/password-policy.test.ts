import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../errors/catalogue.ts';
import {
  assertPasswordAcceptable,
  parseBlockList,
  passwordProblems,
  shippedBlockList,
} from './password-policy.ts';

const ok = (password: string, username?: string) => passwordProblems(password, { username }).length === 0;

describe('password policy (NIST SP 800-63B)', () => {
  it('accepts a long passphrase without composition rules', () => {
    assert.ok(ok('purple tractor on a windy hill'));
    assert.ok(ok('zebrasnackingcarrots'));
  });

  it('refuses fewer than 12 characters, counting code points after NFKC', () => {
    assert.match(passwordProblems('Tr0ub4dor&3')[0] ?? '', /at least 12 characters \(this one has 11\)/);
    assert.ok(!ok('🦓🦓🦓🥕🥕🥕🌵🌵🌵🌊🌊'));
    assert.ok(ok('🦓🥕🌵🌊🍋🚲🎻🪁🧭🦉🍄🛶'));
  });

  it('refuses more than 128 characters', () => {
    assert.match(passwordProblems('a b c '.repeat(30))[0] ?? '', /at most 128/);
  });

  it('ships a block list of a few thousand common passwords', () => {
    const list = shippedBlockList();
    assert.ok(list.size > 3000, `only ${list.size} entries`);
    assert.ok(list.has('password') && list.has('123456') && list.has('qwertyuiop123'));
  });

  it('refuses listed passwords and their bases with digits, symbols or leet added', () => {
    for (const p of [
      'qwertyuiop123',
      'Password12345!',
      'P@ssw0rd2026!!',
      '1234567890123',
      'iloveyou!!!!2026',
      'passwordpassword',
    ]) {
      assert.ok(!ok(p), `${p} was accepted`);
    }
  });

  it('refuses repeated and consecutive runs', () => {
    for (const p of ['aaaaaaaaaaaaaaa', 'abcdefghijklm', 'zyxwvutsrqpon', '890123456789'])
      assert.ok(!ok(p), p);
  });

  it('refuses a password containing the username or the service name', () => {
    assert.ok(!ok('mariaschneider-ward3', 'mariaschneider'));
    assert.ok(!ok('vigil2026vigil'));
  });

  it('throws a problem document listing every reason', () => {
    const e = (() => {
      try {
        assertPasswordAcceptable('password');
      } catch (err) {
        return err;
      }
    })();
    assert.ok(isVigilError(e) && e.code === 'VIGIL_ERR_AUTH_PASSWORD_WEAK');
  });

  it('reads block lists, skipping comment lines', () => {
    const list = parseBlockList('#!comment: header\nHunter2\r\n\nletmein\n');
    assert.deepEqual([...list], ['hunter2', 'letmein']);
  });

  it('never throws and never accepts under 12 characters, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.option(fc.string()), (p, u) => {
        const problems = passwordProblems(p, { username: u ?? undefined });
        assert.ok(Array.isArray(problems));
        if ([...p.normalize('NFKC')].length < 12) assert.ok(problems.length > 0);
      }),
      { numRuns: 500 },
    );
    fc.assert(fc.property(fc.anything(), (x) => void passwordProblems(x as string)));
  });
});
