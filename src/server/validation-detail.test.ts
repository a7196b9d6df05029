import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import fc from 'fast-check';
import { integerQueryNames, looseIntegerQuery, validationDetail } from './validation-detail.ts';

const unknownField = (field: unknown, instancePath = '') => ({
  validation: [{ keyword: 'additionalProperties', instancePath, params: { additionalProperty: field } }],
  validationContext: 'body',
  message: 'body must NOT have additional properties',
});

describe('validation detail', () => {
  it('names an unknown field and where it sits', () => {
    assert.equal(
      validationDetail(unknownField('reasn', '/credential')),
      'body/credential has an unknown field "reasn"; remove it (unknown fields are refused, not ignored)',
    );
  });

  it("keeps Ajv's message for every other refusal", () => {
    const e = { validation: [{ keyword: 'required' }], message: "body must have required property 'reason'" };
    assert.equal(validationDetail(e), "body must have required property 'reason'");
    assert.equal(validationDetail({ message: 'x'.repeat(1000) }).length, 300);
    assert.equal(validationDetail({}), 'invalid request');
  });

  it('quotes any field name, cut short, and never throws (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 500 }),
        fc.string({ maxLength: 40 }),
        (field, path) => {
          const detail = validationDetail(unknownField(field, path));
          assert.ok(detail.includes(JSON.stringify(field.slice(0, 64))));
          assert.ok(detail.length < 500 + path.length);
        },
      ),
    );
    fc.assert(
      fc.property(fc.anything(), (validation) => {
        assert.equal(typeof validationDetail({ validation, message: 'm' }), 'string');
      }),
    );
  });
});

describe('integer query parameters', () => {
  it('finds the integer properties of a querystring schema, optional or not', () => {
    const schema = Type.Object({
      limit: Type.Optional(Type.Integer({ minimum: 1 })),
      before: Type.Integer(),
      code: Type.Optional(Type.String()),
      open: Type.Optional(Type.Boolean()),
    });
    assert.deepEqual(integerQueryNames(schema), ['limit', 'before']);
    assert.deepEqual(integerQueryNames(undefined), []);
    assert.deepEqual(integerQueryNames({ type: 'object' }), []);
  });

  it('refuses hex, binary, exponent, decimal point, sign and padding, naming the value', () => {
    for (const value of [
      '0x10',
      '0b101',
      '0o7',
      '1e2',
      '10.0',
      ' 10',
      '10 ',
      '+10',
      '-1',
      '',
      'Infinity',
      '١٠',
    ]) {
      const detail = looseIntegerQuery({ limit: value }, ['limit']);
      assert.match(String(detail), /^querystring\/limit must be a whole number in decimal digits/, value);
      assert.ok(String(detail).includes(JSON.stringify(value)), value);
    }
    assert.match(String(looseIntegerQuery({ limit: ['10', '0x10'] }, ['limit'])), /"0x10"/);
  });

  it('takes plain digits and leaves other and absent parameters alone', () => {
    assert.equal(looseIntegerQuery({ limit: '100', code: '0x10' }, ['limit']), undefined);
    assert.equal(looseIntegerQuery({}, ['limit']), undefined);
    assert.equal(looseIntegerQuery(null, ['limit']), undefined);
  });

  it('accepts exactly the strings of decimal digits (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (value) => {
        const refused = looseIntegerQuery({ n: value }, ['n']) !== undefined;
        assert.equal(refused, !/^[0-9]+$/.test(value), JSON.stringify(value));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.nat(), (n) => {
        assert.equal(looseIntegerQuery({ n: String(n) }, ['n']), undefined);
      }),
    );
  });

  it('cuts the echoed value short and never throws (property)', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true }), (value) => {
        const detail = looseIntegerQuery({ n: value }, ['n']);
        if (detail !== undefined) assert.ok(detail.length < 140, detail);
      }),
    );
  });
});
