import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { maskEmailAddress, parseEmailAddress } from './email-address.ts';

describe('e-mail address parsing', () => {
  it('accepts ordinary addresses and lower-cases the domain only', () => {
    assert.equal(parseEmailAddress(' Nurse.A+ward3@Hospital.Example '), 'Nurse.A+ward3@hospital.example');
    assert.equal(parseEmailAddress('a@b.co'), 'a@b.co');
  });

  it('refuses what could break an SMTP envelope or a header', () => {
    for (const bad of [
      'a b@example.org',
      'a@example.org\r\nBcc: x@evil.example',
      '<a@example.org>',
      '"a"@example.org',
      'a@example',
      'a@@example.org',
      'a,b@example.org',
      '.a@example.org',
      'a@-x.example.org',
      'a@127.0.0.1',
      `${'a'.repeat(65)}@example.org`,
      42,
    ]) {
      assert.equal(parseEmailAddress(bad), undefined, String(bad));
    }
  });

  it('accepts any address generated to RFC shape and returns it unchanged but for the domain case', () => {
    fc.assert(
      fc.property(fc.emailAddress(), (address) => {
        const parsed = parseEmailAddress(address);
        if (parsed === undefined) return; // fast-check's generator is wider (quoted forms, long parts)
        assert.equal(parsed.toLowerCase(), address.toLowerCase());
      }),
    );
  });

  it('never returns anything holding a space, a control character, a quote or an angle bracket', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (input) => {
        const parsed = parseEmailAddress(input);
        if (parsed !== undefined) {
          assert.doesNotMatch(parsed, /[\s\p{Cc}"<>,;]/u);
          assert.equal(parseEmailAddress(parsed), parsed);
        }
      }),
    );
  });

  it('masks addresses for logs', () => {
    assert.equal(maskEmailAddress('nurse.a@hospital.example'), 'n***@hospital.example');
  });
});
