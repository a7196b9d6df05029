import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { validationDetail } from './validation-detail.ts';

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
