import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type ErrorCode, VigilError } from '../errors/catalogue.ts';
import { type DecodedTelemetry, type DecodeLimits, decodeTelemetry } from './telemetry-decoder.ts';
import { CodeRegistry } from './vital-codes.ts';

const NOW_MS = Date.parse('2026-11-22T10:15:00.000Z');
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const registry = new CodeRegistry();

type Fields = Record<string, unknown>;

function reading(fields: Fields = {}): Fields {
  return { code: '8867-4', value: 72, unit: '/min', ...fields };
}

function message(fields: Fields = {}): Fields {
  return { seq: 1017, ts: iso(NOW_MS), readings: [reading()], ...fields };
}

function withReadings(...readings: Fields[]): Fields {
  return message({ readings });
}

function without(fields: Fields, key: string): Fields {
  const { [key]: _removed, ...rest } = fields;
  return rest;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function encode(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function decode(value: unknown, limits: Partial<DecodeLimits> = {}): DecodedTelemetry {
  return decodeTelemetry(encode(value), registry, { nowMs: NOW_MS, ...limits });
}

function refusal(fn: () => unknown): VigilError {
  try {
    fn();
  } catch (e) {
    if (e instanceof VigilError) return e;
    throw e;
  }
  assert.fail('expected the payload to be refused');
}

/** Asserts the refusal code and returns the detail for further checks. */
function refusedWith(code: ErrorCode, value: unknown, limits: Partial<DecodeLimits> = {}): string {
  const e = refusal(() => decode(value, limits));
  assert.equal(e.code, code, e.detail);
  return e.detail;
}

function refusedBytes(code: ErrorCode, bytes: Uint8Array): string {
  const e = refusal(() => decodeTelemetry(bytes, registry, { nowMs: NOW_MS }));
  assert.equal(e.code, code, e.detail);
  return e.detail;
}

describe('telemetry decoder', () => {
  it('decodes the example payload of the design document', () => {
    const decoded = decode({
      seq: 1017,
      ts: '2026-11-22T10:15:00.000Z',
      readings: [
        { code: '8867-4', value: 72, unit: '/min' },
        { code: '59408-5', value: 97, unit: '%' },
        { code: '2339-0', value: 104, unit: 'mg/dL', ts: '2026-11-22T10:14:00.000Z' },
      ],
    });
    assert.deepEqual(decoded, {
      seq: 1017,
      tsMs: NOW_MS,
      readings: [
        { code: '8867-4', value: 72, unit: '/min', tsMs: NOW_MS },
        { code: '59408-5', value: 97, unit: '%', tsMs: NOW_MS },
        { code: '2339-0', value: 104, unit: 'mg/dL', tsMs: NOW_MS - MINUTE_MS },
      ],
    });
  });

  it('gives a reading without its own ts the message ts', () => {
    assert.equal(decode(message()).readings[0]?.tsMs, NOW_MS);
  });

  it('keeps a reading its own ts', () => {
    const decoded = decode(withReadings(reading({ ts: iso(NOW_MS - 2 * DAY_MS) })));
    assert.equal(decoded.readings[0]?.tsMs, NOW_MS - 2 * DAY_MS);
  });

  it('reads a ts with an offset as the same instant in UTC', () => {
    assert.equal(decode(message({ ts: '2026-11-22T11:15:00+01:00' })).tsMs, NOW_MS);
  });

  it('converts glucose in mmol/L to whole mg/dL at 18.0156 mg/dL per mmol/L', () => {
    const decoded = decode(
      withReadings(
        { code: '2339-0', value: 5.5, unit: 'mmol/L' },
        { code: '99504-3', value: 10, unit: 'mmol/L' },
        { code: '99504-3', value: 3.9, unit: 'mmol/L' },
      ),
    );
    assert.deepEqual(
      decoded.readings.map((r) => [r.value, r.unit]),
      [
        [99, 'mg/dL'], // 99.0858
        [180, 'mg/dL'], // 180.156
        [70, 'mg/dL'], // 70.26084
      ],
    );
  });

  it('stores glucose that converts back to the same 0.1 mmol/L', () => {
    // Whole mg/dL is finer than 0.1 mmol/L (1.8 mg/dL), so nothing a meter showed is lost.
    fc.assert(
      fc.property(fc.integer({ min: 6, max: 832 }), (tenths) => {
        const mmol = tenths / 10;
        const mgDl = decode(withReadings({ code: '2339-0', value: mmol, unit: 'mmol/L' })).readings[0]?.value;
        assert.equal(Math.round((mgDl ?? Number.NaN) / 1.80156) / 10, mmol);
      }),
    );
  });

  it('converts [degF] to Cel', () => {
    const decoded = decode(
      withReadings(
        { code: '8310-5', value: 98.6, unit: '[degF]' },
        { code: '8310-5', value: 104, unit: '[degF]' },
        { code: '8310-5', value: 95.2, unit: '[degF]' },
      ),
    );
    assert.deepEqual(
      decoded.readings.map((r) => [r.value, r.unit]),
      [
        [37, 'Cel'],
        [40, 'Cel'],
        [35.11, 'Cel'], // 35.111...
      ],
    );
  });

  it('stores temperatures that convert back to the same 0.1 [degF]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 580, max: 1160 }), (tenths) => {
        const fahrenheit = tenths / 10;
        const cel = decode(withReadings({ code: '8310-5', value: fahrenheit, unit: '[degF]' })).readings[0]
          ?.value;
        assert.equal(Math.round((((cel ?? Number.NaN) * 9) / 5) * 10 + 320) / 10, fahrenheit);
      }),
    );
  });

  it('converts body weight in [lb_av] and g to kg', () => {
    const decoded = decode(
      withReadings(
        { code: '29463-7', value: 154.3, unit: '[lb_av]' },
        { code: '29463-7', value: 3250, unit: 'g' },
      ),
    );
    assert.deepEqual(
      decoded.readings.map((r) => [r.value, r.unit]),
      [
        [69.989, 'kg'], // 69.98930..., to the gram
        [3.25, 'kg'],
      ],
    );
  });

  it("rounds values to the code's decimals", () => {
    const decoded = decode(
      withReadings(
        reading({ value: 72.5 }),
        { code: '8310-5', value: 37.456, unit: 'Cel' },
        reading({ value: 72.49 }),
      ),
    );
    assert.deepEqual(
      decoded.readings.map((r) => r.value),
      [73, 37.46, 72],
    );
  });

  it('accepts a Uint8Array view into a larger buffer', () => {
    const bytes = encode(message());
    const padded = new Uint8Array(bytes.length + 20).fill(0x7b);
    padded.set(bytes, 10);
    const decoded = decodeTelemetry(padded.subarray(10, 10 + bytes.length), registry, { nowMs: NOW_MS });
    assert.equal(decoded.seq, 1017);
  });

  it('decodes a code an administrator added to the registry', () => {
    const withHeight = new CodeRegistry();
    withHeight.add({
      code: '8302-2',
      display: 'Body height',
      canonicalUnit: 'cm',
      units: { cm: (v) => v, '[in_i]': (v) => v * 2.54 },
      plausible: { min: 20, max: 280 },
      decimals: 1,
    });
    const payload = encode(withReadings({ code: '8302-2', value: 70, unit: '[in_i]' }));
    const decoded = decodeTelemetry(payload, withHeight, { nowMs: NOW_MS });
    assert.deepEqual(decoded.readings[0], { code: '8302-2', value: 177.8, unit: 'cm', tsMs: NOW_MS });
  });

  it('accepts timestamps at the exact edges of the clock window', () => {
    decode(message({ ts: iso(NOW_MS + 5 * MINUTE_MS) }));
    decode(message({ ts: iso(NOW_MS - 30 * DAY_MS) }));
  });

  it('accepts seq 0 and the largest safe integer', () => {
    assert.equal(decode(message({ seq: 0 })).seq, 0);
    assert.equal(decode(message({ seq: Number.MAX_SAFE_INTEGER })).seq, Number.MAX_SAFE_INTEGER);
  });

  it('accepts as many readings as the limit allows', () => {
    const readings = Array.from({ length: 1000 }, () => reading());
    assert.equal(decode(message({ readings })).readings.length, 1000);
  });
});

describe('telemetry decoder refusals', () => {
  describe('VIGIL_ERR_INGEST_TOO_LARGE', () => {
    it('refuses a payload over 64 KiB before reading it', () => {
      const detail = refusedBytes('VIGIL_ERR_INGEST_TOO_LARGE', new Uint8Array(64 * 1024 + 1).fill(0xff));
      assert.equal(detail, 'payload is 65537 bytes; the limit is 65536 bytes');
    });

    it('honours a smaller byte limit', () => {
      const bytes = encode(message());
      const e = refusal(() =>
        decodeTelemetry(bytes, registry, { nowMs: NOW_MS, maxBytes: bytes.length - 1 }),
      );
      assert.equal(e.code, 'VIGIL_ERR_INGEST_TOO_LARGE');
    });
  });

  describe('VIGIL_ERR_INGEST_BAD_JSON', () => {
    it('refuses text that is not JSON without quoting it', () => {
      const detail = refusedBytes('VIGIL_ERR_INGEST_BAD_JSON', Buffer.from('{"seq": Jane Doe}'));
      assert.equal(detail, 'payload is not valid JSON');
    });

    it('names the position of a syntax error when the parser knows it', () => {
      const detail = refusedBytes('VIGIL_ERR_INGEST_BAD_JSON', Buffer.from('{"seq":1 "ts":2}'));
      assert.equal(detail, 'payload is not valid JSON (syntax error at character 9)');
    });

    it('refuses an empty or truncated payload', () => {
      refusedBytes('VIGIL_ERR_INGEST_BAD_JSON', Buffer.alloc(0));
      refusedBytes('VIGIL_ERR_INGEST_BAD_JSON', encode(message()).subarray(0, 30));
    });

    it('refuses invalid UTF-8 instead of replacing it', () => {
      const prefix = Buffer.from('{"seq":1,"ts":"');
      const invalid = [
        [0xc0, 0xaf], // overlong "/"
        [0xed, 0xa0, 0x80], // UTF-16 surrogate encoded in UTF-8
        [0xe2, 0x82], // truncated sequence
        [0xff],
        [0x80],
      ];
      for (const bytes of invalid) {
        const detail = refusedBytes('VIGIL_ERR_INGEST_BAD_JSON', Buffer.concat([prefix, Buffer.from(bytes)]));
        assert.equal(detail, 'payload is not valid UTF-8');
      }
    });
  });

  describe('VIGIL_ERR_INGEST_BAD_SHAPE', () => {
    it('refuses a payload that is not an object', () => {
      assert.equal(
        refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', [message()]),
        'payload must be a JSON object, got array',
      );
      assert.equal(
        refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', null),
        'payload must be a JSON object, got null',
      );
      assert.equal(
        refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', 1017),
        'payload must be a JSON object, got number',
      );
    });

    it('refuses an unknown top-level key, naming it', () => {
      const detail = refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', message({ patient: 'x' }));
      assert.equal(detail, 'payload has unknown key "patient"; allowed keys: seq, ts, readings');
    });

    it('refuses a key named __proto__ like any other unknown key', () => {
      const bytes = Buffer.from(`{"seq":1,"ts":"${iso(NOW_MS)}","readings":[],"__proto__":{"x":1}}`);
      assert.match(refusedBytes('VIGIL_ERR_INGEST_BAD_SHAPE', bytes), /unknown key "__proto__"/);
    });

    it('says which required field is missing', () => {
      for (const key of ['seq', 'ts', 'readings']) {
        assert.equal(refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', without(message(), key)), `${key} is missing`);
      }
    });

    it('refuses a seq that is not a non-negative safe integer', () => {
      for (const seq of [-1, 1.5, 2 ** 53, '1017', null, true]) {
        assert.match(
          refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', message({ seq })),
          /^seq must be an integer from 0 to/,
        );
      }
    });

    it('refuses a ts that Date.parse would accept loosely', () => {
      for (const ts of ['2026', 'Nov 22 2026', '2026-11-22', '2026-11-22T10:15:00', '2026-11-22 10:15:00Z']) {
        const detail = refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', message({ ts }));
        assert.match(detail, /^ts is not an RFC 3339 date-time with a zone/, ts);
      }
    });

    it('refuses readings that are not a non-empty array', () => {
      assert.equal(
        refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', message({ readings: [] })),
        'readings must hold at least one reading',
      );
      assert.equal(
        refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', message({ readings: reading() })),
        'readings must be an array, got object',
      );
    });

    it('refuses more readings than the limit', () => {
      const detail = refusedWith(
        'VIGIL_ERR_INGEST_BAD_SHAPE',
        message({ readings: [reading(), reading()] }),
        {
          maxReadings: 1,
        },
      );
      assert.equal(detail, 'readings holds 2 readings; at most 1 are accepted in one message');
    });

    it('refuses a reading that is not an object, naming its position', () => {
      assert.equal(
        refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', withReadings(reading(), 'x' as unknown as Fields)),
        'readings[1] must be an object, got string',
      );
    });

    it('refuses an unknown key in a reading, naming it', () => {
      const detail = refusedWith(
        'VIGIL_ERR_INGEST_BAD_SHAPE',
        withReadings(reading(), reading({ note: 'x' })),
      );
      assert.equal(detail, 'readings[1] has unknown key "note"; allowed keys: code, value, unit, ts');
    });

    it('says which field of a reading is missing', () => {
      for (const key of ['code', 'value', 'unit']) {
        assert.equal(
          refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', withReadings(without(reading(), key))),
          `readings[0].${key} is missing`,
        );
      }
    });

    it('refuses a code or unit that is not a string', () => {
      assert.match(
        refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', withReadings(reading({ code: 8867 }))),
        /^readings\[0\]\.code must be a string/,
      );
      assert.match(
        refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', withReadings(reading({ unit: null }))),
        /^readings\[0\]\.unit must be a UCUM unit string/,
      );
    });

    it('refuses a value that is not a finite number', () => {
      for (const value of ['72', null, true, [72], { v: 72 }]) {
        const detail = refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', withReadings(reading({ value })));
        assert.match(detail, /^readings\[0\]\.value must be a finite number, got /);
      }
      const overflow = Buffer.from(
        `{"seq":1,"ts":"${iso(NOW_MS)}","readings":[{"code":"8867-4","value":1e400,"unit":"/min"}]}`,
      );
      assert.equal(
        refusedBytes('VIGIL_ERR_INGEST_BAD_SHAPE', overflow),
        'readings[0].value must be a finite number, got number',
      );
    });

    it('refuses a malformed reading ts, naming the reading', () => {
      const detail = refusedWith(
        'VIGIL_ERR_INGEST_BAD_SHAPE',
        withReadings(reading(), reading({ ts: '22/11/2026' })),
      );
      assert.match(detail, /^readings\[1\]\.ts is not an RFC 3339 date-time/);
    });
  });

  describe('VIGIL_ERR_INGEST_UNKNOWN_CODE', () => {
    it('refuses a code outside the registry, quoting it', () => {
      const detail = refusedWith('VIGIL_ERR_INGEST_UNKNOWN_CODE', withReadings(reading({ code: '1234-5' })));
      assert.equal(
        detail,
        'readings[0].code "1234-5" is not a known code; an administrator must add it with its units and plausible range',
      );
    });

    it('quotes no more than a short, escaped excerpt of a strange code', () => {
      const long = refusedWith(
        'VIGIL_ERR_INGEST_UNKNOWN_CODE',
        withReadings(reading({ code: 'x'.repeat(500) })),
      );
      assert.match(long, /^readings\[0\]\.code a 500-character string is not a known code/);
      const control = refusedWith(
        'VIGIL_ERR_INGEST_UNKNOWN_CODE',
        withReadings(reading({ code: 'a\nb\u202e"' })),
      );
      assert.match(control, /^readings\[0\]\.code "a\\u000ab\\u202e\\u0022" is not/);
    });

    it('knows no code named after an Object.prototype member', () => {
      refusedWith('VIGIL_ERR_INGEST_UNKNOWN_CODE', withReadings(reading({ code: 'constructor' })));
    });
  });

  describe('VIGIL_ERR_INGEST_BAD_UNIT', () => {
    it('refuses a unit that is not accepted for the code, naming the one to use', () => {
      const detail = refusedWith(
        'VIGIL_ERR_INGEST_BAD_UNIT',
        withReadings(reading(), reading(), { code: '8480-6', value: 120, unit: 'mmHg' }),
      );
      assert.equal(detail, 'readings[2].unit "mmHg" is not accepted for 8480-6; use "mm[Hg]"');
    });

    it('lists every accepted unit when a code has several', () => {
      const detail = refusedWith(
        'VIGIL_ERR_INGEST_BAD_UNIT',
        withReadings({ code: '2339-0', value: 5, unit: 'mmol/l' }),
      );
      assert.equal(
        detail,
        'readings[0].unit "mmol/l" is not accepted for 2339-0; use one of "mg/dL", "mmol/L"',
      );
    });

    it('refuses a unit accepted only for another code', () => {
      refusedWith('VIGIL_ERR_INGEST_BAD_UNIT', withReadings(reading({ unit: '%' })));
    });

    it('accepts no unit named after an Object.prototype member', () => {
      for (const unit of ['toString', '__proto__', 'constructor', 'valueOf']) {
        refusedWith('VIGIL_ERR_INGEST_BAD_UNIT', withReadings(reading({ unit })));
      }
    });
  });

  describe('VIGIL_ERR_INGEST_IMPLAUSIBLE', () => {
    it('refuses a value outside the plausible range without quoting it', () => {
      const detail = refusedWith('VIGIL_ERR_INGEST_IMPLAUSIBLE', withReadings(reading({ value: 301 })));
      assert.equal(
        detail,
        'readings[0].value is outside the plausible range 20-300 /min for 8867-4; check the sensor and the unit',
      );
      refusedWith('VIGIL_ERR_INGEST_IMPLAUSIBLE', withReadings(reading({ value: 19 })));
    });

    it('judges a converted value in the canonical unit', () => {
      const detail = refusedWith(
        'VIGIL_ERR_INGEST_IMPLAUSIBLE',
        withReadings({ code: '2339-0', value: 104, unit: 'mmol/L' }),
      );
      assert.match(detail, /plausible range 10-1500 mg\/dL for 2339-0 after conversion from mmol\/L/);
      assert.doesNotMatch(detail, /104/);
    });

    it('refuses the value before rounding, so 100.4 % is not stored as 100 %', () => {
      refusedWith('VIGIL_ERR_INGEST_IMPLAUSIBLE', withReadings({ code: '59408-5', value: 100.4, unit: '%' }));
    });

    it('accepts the exact bounds of the range', () => {
      decode(withReadings(reading({ value: 20 }), reading({ value: 300 })));
    });
  });

  describe('VIGIL_ERR_INGEST_FUTURE', () => {
    it('refuses a message ts more than 5 minutes ahead', () => {
      const detail = refusedWith('VIGIL_ERR_INGEST_FUTURE', message({ ts: iso(NOW_MS + 5 * MINUTE_MS + 1) }));
      assert.match(detail, /^ts is 301 s ahead of the server clock/);
    });

    it('refuses a reading ts more than 5 minutes ahead, naming the reading', () => {
      const detail = refusedWith(
        'VIGIL_ERR_INGEST_FUTURE',
        withReadings(reading(), reading({ ts: iso(NOW_MS + DAY_MS) })),
      );
      assert.match(detail, /^readings\[1\]\.ts is 86400 s ahead/);
    });

    it('honours a custom allowance', () => {
      refusedWith('VIGIL_ERR_INGEST_FUTURE', message({ ts: iso(NOW_MS + 2_000) }), { maxFutureMs: 1_000 });
    });
  });

  describe('VIGIL_ERR_INGEST_TOO_OLD', () => {
    it('refuses a ts older than the 30-day backfill window', () => {
      const detail = refusedWith('VIGIL_ERR_INGEST_TOO_OLD', message({ ts: iso(NOW_MS - 30 * DAY_MS - 1) }));
      assert.equal(detail, 'ts is older than the backfill window of 30 days');
    });

    it('refuses an old reading ts inside a current message', () => {
      const detail = refusedWith(
        'VIGIL_ERR_INGEST_TOO_OLD',
        withReadings(reading({ ts: '1970-01-01T00:00:00Z' })),
      );
      assert.match(detail, /^readings\[0\]\.ts is older/);
    });

    it('honours a custom backfill window', () => {
      refusedWith('VIGIL_ERR_INGEST_TOO_OLD', message({ ts: iso(NOW_MS - 2 * DAY_MS) }), {
        maxPastMs: DAY_MS,
      });
    });
  });

  it('refuses the whole message for one bad reading among good ones', () => {
    const detail = refusedWith(
      'VIGIL_ERR_INGEST_IMPLAUSIBLE',
      withReadings(reading(), { code: '59408-5', value: 97, unit: '%' }, reading({ value: 1000 })),
    );
    assert.match(detail, /^readings\[2\]\.value/);
  });
});
