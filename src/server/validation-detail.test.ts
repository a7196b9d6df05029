import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import fc from 'fast-check';
import {
  choicesDetail,
  integerQueryNames,
  looseIntegerQuery,
  validationDetail,
} from './validation-detail.ts';

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

/** What Ajv reports for a value outside Type.Union of Type.Literal: one const per literal, then anyOf. */
const outsideLiterals = (instancePath: string, literals: readonly string[]) => [
  ...literals.map((allowedValue, i) => ({
    instancePath,
    schemaPath: `#/properties${instancePath}/anyOf/${i}/const`,
    keyword: 'const',
    params: { allowedValue },
    message: 'must be equal to constant',
  })),
  { instancePath, keyword: 'anyOf', params: {}, message: 'must match a schema in anyOf' },
];

describe('validation detail for a choice of literals', () => {
  it('says once which values a union of literals takes', () => {
    const validation = outsideLiterals('/format', ['md', 'html', 'json', 'csv']);
    const message = validation.map((e) => `querystring${e.instancePath} ${e.message}`).join(', ');
    assert.equal(
      validationDetail({ validation, validationContext: 'querystring', message }),
      'querystring/format must be one of: md, html, json, csv',
    );
  });

  it('reads an enum as a choice too, and keeps the words of every other place', () => {
    const validation = [
      {
        instancePath: '/kind',
        keyword: 'enum',
        params: { allowedValues: ['a', 'b'] },
        message: 'must be equal to one of the allowed values',
      },
      { instancePath: '/n', keyword: 'type', params: { type: 'integer' }, message: 'must be integer' },
    ];
    assert.equal(
      validationDetail({ validation, validationContext: 'body', message: 'whatever Fastify said' }),
      'body/kind must be one of: a, b, body/n must be integer',
    );
  });

  it("keeps Ajv's words where a union also has a branch that is not a literal", () => {
    const validation = [
      {
        instancePath: '/at',
        keyword: 'const',
        params: { allowedValue: 'now' },
        message: 'must be equal to constant',
      },
      { instancePath: '/at', keyword: 'type', params: { type: 'integer' }, message: 'must be integer' },
      { instancePath: '/at', keyword: 'anyOf', params: {}, message: 'must match a schema in anyOf' },
    ];
    const message =
      'querystring/at must be equal to constant, querystring/at must be integer, querystring/at must match a schema in anyOf';
    assert.equal(validationDetail({ validation, validationContext: 'querystring', message }), message);
    assert.equal(choicesDetail(validation, 'querystring'), undefined);
  });

  it('gives one "must be one of" per place and never throws, whatever the errors (property)', () => {
    const place = fc.constantFrom('', '/format', '/a/0', '/kind');
    const error = fc.oneof(
      fc.record({
        instancePath: place,
        keyword: fc.constant('const'),
        params: fc.record({ allowedValue: fc.string() }),
        message: fc.constant('must be equal to constant'),
      }),
      fc.record({
        instancePath: place,
        keyword: fc.constant('enum'),
        params: fc.record({ allowedValues: fc.array(fc.string()) }),
        message: fc.string(),
      }),
      fc.record({
        instancePath: place,
        keyword: fc.constant('anyOf'),
        params: fc.constant({}),
        message: fc.constant('must match a schema in anyOf'),
      }),
      fc.record({
        instancePath: place,
        keyword: fc.constantFrom('type', 'minimum', 'required'),
        message: fc.string(),
      }),
    );
    fc.assert(
      fc.property(fc.array(error, { maxLength: 12 }), (errors) => {
        const detail = choicesDetail(errors, 'querystring');
        const places = new Set(errors.map((e) => e.instancePath));
        const choicePlaces = [...places].filter((p) => {
          const at = errors.filter((e) => e.instancePath === p);
          return (
            at.some((e) => e.keyword === 'const' || e.keyword === 'enum') &&
            at.every((e) => ['const', 'enum', 'anyOf'].includes(e.keyword))
          );
        });
        if (choicePlaces.length === 0) {
          assert.equal(detail, undefined);
          return;
        }
        assert.ok(detail !== undefined);
        for (const p of choicePlaces) {
          assert.equal(detail.split(`querystring${p} must be one of: `).length - 1, 1, `${p} in ${detail}`);
        }
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.array(fc.anything()), fc.anything(), (validation, validationContext) => {
        assert.equal(typeof validationDetail({ validation, validationContext, message: 'm' }), 'string');
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
