/**
 * Property tests of the telemetry decoder (STYLE.md 13): whatever a device sends, the decoder
 * answers with decoded readings or a VigilError whose detail leaks no field value.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { VigilError } from '../errors/catalogue.ts';
import { type DecodedTelemetry, type DecodeLimits, decodeTelemetry } from './telemetry-decoder.ts';
import { CodeRegistry, type UnitConversion, type VitalCode } from './vital-codes.ts';

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

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function encode(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

const CODES = registry.list();
const ALL_UNITS = [...new Set(CODES.flatMap((c) => Object.keys(c.units)))];
const READING_KEYS = new Set(['code', 'value', 'unit', 'ts']);
const MESSAGE_KEYS = new Set(['seq', 'ts', 'readings']);

/** Any outcome but a VigilError with a detail is a bug: the transport maps only VigilError. */
function decodeOrRefuse(
  bytes: Uint8Array,
  limits: Partial<DecodeLimits> = {},
): DecodedTelemetry | VigilError {
  try {
    return decodeTelemetry(bytes, registry, { nowMs: NOW_MS, ...limits });
  } catch (e) {
    if (!(e instanceof VigilError)) throw e;
    assert.ok(e.detail.length > 0, `${e.code} has an empty detail`);
    return e;
  }
}

/** The inverse of a linear conversion, to generate device values from canonical ones. */
function invertLinear(convert: UnitConversion, canonical: number): number {
  const offset = convert(0);
  return (canonical - offset) / (convert(1) - offset);
}

const arbTsMs = fc.integer({ min: NOW_MS - 30 * DAY_MS, max: NOW_MS + 5 * MINUTE_MS });

const arbValidReading = fc
  .constantFrom(...CODES)
  .chain((vital: VitalCode) =>
    fc.record({
      vital: fc.constant(vital),
      unit: fc.constantFrom(...Object.keys(vital.units)),
      canonical: fc.double({ min: vital.plausible.min, max: vital.plausible.max, noNaN: true }),
      tsMs: fc.option(arbTsMs, { nil: undefined }),
    }),
  )
  .map(({ vital, unit, canonical, tsMs }) => {
    const convert = vital.units[unit] ?? assert.fail(unit);
    const value = invertLinear(convert, canonical);
    return { vital, unit, value, expected: convert(value), tsMs };
  })
  .filter(({ vital, expected }) => expected >= vital.plausible.min && expected <= vital.plausible.max);

const arbValidMessage = fc.record({
  seq: fc.maxSafeNat(),
  tsMs: arbTsMs,
  readings: fc.array(arbValidReading, { minLength: 1, maxLength: 20 }),
});

type ValidMessage = typeof arbValidMessage extends fc.Arbitrary<infer T> ? T : never;

function toPayload(m: ValidMessage): Fields {
  return {
    seq: m.seq,
    ts: iso(m.tsMs),
    readings: m.readings.map((r) => ({
      code: r.vital.code,
      value: r.value,
      unit: r.unit,
      ...(r.tsMs === undefined ? {} : { ts: iso(r.tsMs) }),
    })),
  };
}

const anyJson = fc.jsonValue({ stringUnit: 'binary', maxDepth: 3 });
const arbNearReading = fc.record(
  {
    code: fc.oneof(fc.constantFrom(...CODES.map((c) => c.code), 'constructor'), anyJson),
    value: fc.oneof(fc.double(), anyJson),
    unit: fc.oneof(fc.constantFrom(...ALL_UNITS, 'toString', '__proto__'), anyJson),
    ts: fc.oneof(arbTsMs.map(iso), fc.string(), anyJson),
  },
  { requiredKeys: [] },
);
const arbNearMessage = fc.record(
  {
    seq: fc.oneof(fc.maxSafeNat(), anyJson),
    ts: fc.oneof(
      arbTsMs.map(iso),
      fc.integer().map((n) => iso(NOW_MS + n * 1000)),
      anyJson,
    ),
    readings: fc.oneof(fc.array(fc.oneof(arbNearReading, anyJson), { maxLength: 5 }), anyJson),
  },
  { requiredKeys: [] },
);

describe('telemetry decoder properties', () => {
  it('throws nothing but VigilError for arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        decodeOrRefuse(bytes);
      }),
    );
  });

  it('throws nothing but VigilError for valid payloads with corrupted bytes', () => {
    fc.assert(
      fc.property(
        arbValidMessage,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (m, flips) => {
          const bytes = encode(toPayload(m));
          for (const [at, byte] of flips) bytes[at % bytes.length] = byte;
          decodeOrRefuse(bytes);
        },
      ),
    );
  });

  it('throws nothing but VigilError, always with a detail, for arbitrary JSON values', () => {
    fc.assert(
      fc.property(anyJson, (value) => {
        decodeOrRefuse(encode(value));
      }),
    );
  });

  it('throws nothing but VigilError, always with a detail, for near-valid messages', () => {
    fc.assert(
      fc.property(arbNearMessage, (value) => {
        decodeOrRefuse(encode(value));
      }),
      { numRuns: 500 },
    );
  });

  it('decodes every valid payload, values within rounding of the converted input', () => {
    fc.assert(
      fc.property(arbValidMessage, (m) => {
        const decoded = decodeOrRefuse(encode(toPayload(m)));
        assert.ok(!(decoded instanceof VigilError), decoded instanceof VigilError ? decoded.detail : '');
        assert.equal(decoded.seq, m.seq);
        assert.equal(decoded.tsMs, m.tsMs);
        assert.equal(decoded.readings.length, m.readings.length);
        m.readings.forEach((r, i) => {
          const out = decoded.readings[i];
          assert.ok(out);
          assert.equal(out.code, r.vital.code);
          assert.equal(out.unit, r.vital.canonicalUnit);
          assert.equal(out.tsMs, r.tsMs ?? m.tsMs);
          const halfStep = 0.5 / 10 ** r.vital.decimals;
          assert.ok(
            Math.abs(out.value - r.expected) <= halfStep * (1 + 1e-9),
            `${out.value} vs ${r.expected}`,
          );
        });
      }),
    );
  });

  it('never puts text from a field value into the detail', () => {
    const arbSecret = fc.string({ minLength: 1, maxLength: 30 }).map((s) => `SECRET-${s}`);
    const arbUnknownKey = fc
      .string({ minLength: 1, maxLength: 12 })
      .filter(
        (k) => !READING_KEYS.has(k) && !MESSAGE_KEYS.has(k) && !k.includes('SECRET') && k !== '__proto__',
      );
    const placements: ((secret: string, key: string) => Fields)[] = [
      (secret, key) => message({ [key]: secret }),
      (secret, key) => withReadings(reading({ [key]: secret })),
      (secret, key) => withReadings(reading({ [key]: { nested: secret } })),
      (secret) => message({ ts: secret }),
      (secret) => message({ seq: secret }),
      (secret) => withReadings(reading({ ts: secret })),
      (secret) => withReadings(reading({ value: secret })),
      (secret) => message({ readings: secret }),
    ];
    fc.assert(
      fc.property(arbSecret, arbUnknownKey, fc.nat({ max: placements.length - 1 }), (secret, key, which) => {
        const place = placements[which] ?? assert.fail();
        const outcome = decodeOrRefuse(encode(place(secret, key)));
        assert.ok(outcome instanceof VigilError);
        assert.ok(!outcome.detail.includes(secret), outcome.detail);
        assert.ok(!outcome.message.includes(secret), outcome.message);
      }),
    );
  });
});
