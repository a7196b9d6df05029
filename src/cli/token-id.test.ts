import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../errors/catalogue.ts';
import { tokenIdFrom } from './token-id.ts';

const hex16 = fc.stringMatching(/^[a-f0-9]{16}$/);
const refusal = (value: string): string | undefined => {
  try {
    tokenIdFrom(value);
    return undefined;
  } catch (e) {
    assert.ok(isVigilError(e), String(e));
    return e.detail;
  }
};

describe('token id from the operator', () => {
  it('takes an id as vigil token list shows it', () => {
    fc.assert(fc.property(hex16, (id) => assert.equal(tokenIdFrom(id), id)));
  });

  it('takes the whole token and uses only its id, whatever follows the dot', () => {
    fc.assert(
      fc.property(hex16, fc.string(), (id, secret) => assert.equal(tokenIdFrom(`vgl_${id}.${secret}`), id)),
    );
  });

  it('refuses anything else with one message that never repeats what was given', () => {
    const fixed = refusal('x');
    assert.match(fixed ?? '', /16 hex characters/);
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (value) => {
        const text = value.trim();
        fc.pre(!/^[a-f0-9]{16}$/.test(text) && !/^vgl_[a-f0-9]{16}\./.test(text));
        assert.equal(refusal(value), fixed);
      }),
    );
    for (const near of [
      '0123456789ABCDEF',
      '0123456789abcde',
      'vgl_0123456789abcdef',
      'vgl_0123456789abcde.s3cret',
    ])
      assert.equal(refusal(near), fixed, near);
  });
});
