import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VigilError } from '../errors/catalogue.ts';
import {
  CORE_VITAL_CODES,
  CodeRegistry,
  GLUCOSE_MG_DL_PER_MMOL_L,
  isLoincCode,
  KG_PER_POUND,
  type VitalCode,
} from './vital-codes.ts';

/** A code an administrator might add: body height (LOINC 8302-2) in cm. */
function bodyHeight(overrides: Partial<VitalCode> = {}): VitalCode {
  return {
    code: '8302-2',
    display: 'Body height',
    canonicalUnit: 'cm',
    units: { cm: (v) => v, '[in_i]': (v) => v * 2.54 },
    plausible: { min: 20, max: 280 },
    decimals: 1,
    ...overrides,
  };
}

function convert(code: string, unit: string, value: number): number {
  const conversion = new CodeRegistry().get(code)?.units[unit];
  assert.ok(conversion, `${code} accepts ${unit}`);
  return conversion(value);
}

function addRefusal(code: VitalCode, registry = new CodeRegistry()): VigilError {
  try {
    registry.add(code);
  } catch (e) {
    if (e instanceof VigilError) {
      assert.equal(e.code, 'VIGIL_ERR_REQUEST_INVALID');
      return e;
    }
    throw e;
  }
  assert.fail('expected the registry to refuse the code');
}

describe('vital-code registry', () => {
  it('knows every core vital sign with its canonical UCUM unit', () => {
    const registry = new CodeRegistry();
    const canonical = Object.fromEntries(registry.list().map((c) => [c.code, c.canonicalUnit]));
    assert.deepEqual(canonical, {
      '8867-4': '/min',
      '59408-5': '%',
      '9279-1': '/min',
      '8310-5': 'Cel',
      '8480-6': 'mm[Hg]',
      '8462-4': 'mm[Hg]',
      '2339-0': 'mg/dL',
      '99504-3': 'mg/dL',
      '29463-7': 'kg',
    });
  });

  it('accepts the alternative units the design names', () => {
    const registry = new CodeRegistry();
    assert.deepEqual(Object.keys(registry.get('8310-5')?.units ?? {}), ['Cel', '[degF]']);
    assert.deepEqual(Object.keys(registry.get('2339-0')?.units ?? {}), ['mg/dL', 'mmol/L']);
    assert.deepEqual(Object.keys(registry.get('99504-3')?.units ?? {}), ['mg/dL', 'mmol/L']);
    assert.deepEqual(Object.keys(registry.get('29463-7')?.units ?? {}), ['kg', '[lb_av]', 'g']);
  });

  it('stores every canonical unit unchanged', () => {
    for (const code of CORE_VITAL_CODES) {
      const { min, max } = code.plausible;
      assert.equal(code.units[code.canonicalUnit]?.(min), min, code.code);
      assert.equal(code.units[code.canonicalUnit]?.(max), max, code.code);
    }
  });

  it('converts glucose at 18.0156 mg/dL per mmol/L (glucose 180.156 g/mol)', () => {
    assert.equal(GLUCOSE_MG_DL_PER_MMOL_L, 18.0156);
    assert.equal(convert('2339-0', 'mmol/L', 1), 18.0156);
    assert.equal(convert('99504-3', 'mmol/L', 10), 180.156);
    assert.ok(Math.abs(convert('2339-0', 'mmol/L', 5.5) - 99.0858) < 1e-12);
  });

  it('converts [degF] to Cel', () => {
    assert.equal(convert('8310-5', '[degF]', 32), 0);
    assert.equal(convert('8310-5', '[degF]', 212), 100);
    assert.ok(Math.abs(convert('8310-5', '[degF]', 98.6) - 37) < 1e-12);
    assert.equal(convert('8310-5', '[degF]', -40), -40);
  });

  it('converts [lb_av] (exactly 0.45359237 kg) and g to kg', () => {
    assert.equal(KG_PER_POUND, 0.45359237);
    assert.equal(convert('29463-7', '[lb_av]', 100), 45.359237);
    assert.equal(convert('29463-7', 'g', 3250), 3.25);
  });

  it('holds ordinary adult vital signs inside every plausible range', () => {
    const typical: Record<string, number> = {
      '8867-4': 72,
      '59408-5': 97,
      '9279-1': 16,
      '8310-5': 37,
      '8480-6': 120,
      '8462-4': 80,
      '2339-0': 100,
      '99504-3': 100,
      '29463-7': 70,
    };
    for (const { code, plausible } of CORE_VITAL_CODES) {
      const value = typical[code];
      assert.ok(value !== undefined && value >= plausible.min && value <= plausible.max, code);
    }
  });

  it('places the usual unit mix-ups outside the plausible range', () => {
    const registry = new CodeRegistry();
    const outside = (code: string, value: number) => {
      const range = registry.get(code)?.plausible;
      return range !== undefined && (value < range.min || value > range.max);
    };
    assert.ok(outside('8310-5', 98.6), '[degF] sent as Cel');
    assert.ok(outside('8310-5', convert('8310-5', '[degF]', 37)), 'Cel sent as [degF]');
    assert.ok(outside('2339-0', 5.5), 'mmol/L sent as mg/dL');
    assert.ok(outside('2339-0', convert('2339-0', 'mmol/L', 100)), 'mg/dL sent as mmol/L');
    assert.ok(outside('29463-7', 3500), 'g sent as kg');
  });

  it('returns undefined for an unknown code', () => {
    assert.equal(new CodeRegistry().get('1234-5'), undefined);
  });

  it('knows no code or unit named after an Object.prototype member', () => {
    const registry = new CodeRegistry();
    for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf']) {
      assert.equal(registry.get(name), undefined, name);
      assert.equal(registry.get('8867-4')?.units[name], undefined, name);
    }
  });

  it('gives out entries that cannot be changed', () => {
    const heartRate = new CodeRegistry().get('8867-4');
    assert.ok(heartRate && Object.isFrozen(heartRate) && Object.isFrozen(heartRate.plausible));
    assert.ok(Object.isFrozen(heartRate.units));
    assert.ok(Object.isFrozen(CORE_VITAL_CODES));
  });

  it('lists a copy: changing the list does not change the registry', () => {
    const registry = new CodeRegistry();
    registry.list().length = 0;
    assert.equal(registry.list().length, CORE_VITAL_CODES.length);
  });

  it('can start from a chosen set of codes instead of the core ones', () => {
    const registry = new CodeRegistry([bodyHeight()]);
    assert.deepEqual(
      registry.list().map((c) => c.code),
      ['8302-2'],
    );
  });
});

describe('adding a code', () => {
  it('makes an administrator-defined code known to that registry only', () => {
    const registry = new CodeRegistry();
    registry.add(bodyHeight());
    assert.equal(registry.get('8302-2')?.units['[in_i]']?.(10), 25.4);
    assert.equal(new CodeRegistry().get('8302-2'), undefined);
  });

  it('keeps its own copy, unaffected by later changes to the input', () => {
    const registry = new CodeRegistry();
    const input = bodyHeight();
    registry.add(input);
    (input.plausible as { max: number }).max = 10_000;
    (input.units as Record<string, unknown>)['[ft_i]'] = (v: number) => v * 30.48;
    assert.equal(registry.get('8302-2')?.plausible.max, 280);
    assert.equal(registry.get('8302-2')?.units['[ft_i]'], undefined);
  });

  it('refuses a code that is already registered', () => {
    const e = addRefusal(bodyHeight({ code: '8867-4' }));
    assert.match(e.detail, /8867-4 is already registered/);
  });

  it('refuses a code that is not LOINC-shaped', () => {
    for (const code of ['', 'HR', '8867', '8867-', '8867-45', '12345678-9', ' 8867-4', '8867-4\n']) {
      assert.match(
        addRefusal(bodyHeight({ code })).detail,
        /^code must be a LOINC code/,
        JSON.stringify(code),
      );
    }
  });

  it('refuses a LOINC code with a wrong check digit', () => {
    assert.match(addRefusal(bodyHeight({ code: '8302-3' })).detail, /check digit/);
  });

  it('refuses an empty or multi-line display name', () => {
    assert.match(addRefusal(bodyHeight({ display: ' ' })).detail, /^display of 8302-2/);
    assert.match(addRefusal(bodyHeight({ display: 'Body\nheight' })).detail, /^display of 8302-2/);
  });

  it('refuses a canonical unit that is not a UCUM code', () => {
    assert.match(addRefusal(bodyHeight({ canonicalUnit: 'c m' })).detail, /^canonicalUnit of 8302-2/);
  });

  it('refuses units without the canonical unit', () => {
    const e = addRefusal(bodyHeight({ units: { '[in_i]': (v) => v * 2.54 } }));
    assert.match(e.detail, /must include the canonical unit "cm"/);
  });

  it('refuses a canonical unit whose conversion is not identity', () => {
    const e = addRefusal(bodyHeight({ units: { cm: (v) => v * 10 } }));
    assert.match(e.detail, /conversion must be identity/);
  });

  it('refuses an accepted unit with a space or without a conversion function', () => {
    assert.match(
      addRefusal(bodyHeight({ units: { cm: (v) => v, 'in ch': (v) => v } })).detail,
      /not a UCUM code/,
    );
    const notAFunction = { cm: (v: number) => v, m: 100 } as unknown as VitalCode['units'];
    assert.match(addRefusal(bodyHeight({ units: notAFunction })).detail, /conversion function/);
  });

  it('refuses a plausible range that is empty, inverted or not finite', () => {
    for (const plausible of [
      { min: 5, max: 5 },
      { min: 10, max: 1 },
      { min: 0, max: Number.POSITIVE_INFINITY },
      { min: Number.NaN, max: 1 },
    ]) {
      assert.match(addRefusal(bodyHeight({ plausible })).detail, /^plausible of 8302-2/);
    }
  });

  it('refuses decimals outside 0-6 or not whole', () => {
    for (const decimals of [-1, 7, 1.5, Number.NaN]) {
      assert.match(addRefusal(bodyHeight({ decimals })).detail, /^decimals of 8302-2/);
    }
  });

  it('refuses input that is not an object', () => {
    addRefusal(null as unknown as VitalCode);
  });
});

describe('LOINC check digit', () => {
  it('accepts every core code', () => {
    for (const { code } of CORE_VITAL_CODES) assert.ok(isLoincCode(code), code);
  });

  it('refuses each core code with any other check digit', () => {
    for (const { code } of CORE_VITAL_CODES) {
      const body = code.slice(0, -1);
      for (let digit = 0; digit <= 9; digit++) {
        if (`${body}${digit}` !== code)
          assert.equal(isLoincCode(`${body}${digit}`), false, `${body}${digit}`);
      }
    }
  });
});
