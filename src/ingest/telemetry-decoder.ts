/**
 * Decodes a telemetry payload (DESIGN.md "Device protocol") into readings in canonical units.
 * It is the first step of the ingest hot path, so it is plain code: one JSON.parse, then
 * hand-written shape checks that allocate nothing but the result. A message is accepted or
 * refused whole: the first fault throws a VigilError whose detail tells the device what to fix.
 */
import { VigilError } from '../errors/catalogue.ts';
import { fieldLabel, jsonTypeName, quoteForDetail } from './detail-text.ts';
import {
  isJsonObject,
  type JsonObject,
  parsePayloadJson,
  refuseShape,
  refuseUnknownKey,
  requireJsonObject,
} from './payload-json.ts';
import { type ClockWindow, clockWindow, readTimestamp } from './timestamps.ts';
import type { CodeRegistry, UnitConversion, VitalCode } from './vital-codes.ts';

export interface DecodedReading {
  code: string;
  /** In the code's canonical unit, rounded to the code's decimals. */
  value: number;
  /** The canonical unit. */
  unit: string;
  tsMs: number;
}

export interface DecodedTelemetry {
  seq: number;
  tsMs: number;
  readings: DecodedReading[];
}

export interface DecodeLimits {
  nowMs: number;
  /** Default 5 minutes. */
  maxFutureMs?: number;
  /** Default 30 days: the backfill window. */
  maxPastMs?: number;
  /** Default 64 KiB. */
  maxBytes?: number;
  /** Default 1000. */
  maxReadings?: number;
}

export const DEFAULT_MAX_TELEMETRY_BYTES = 64 * 1024;
export const DEFAULT_MAX_READINGS = 1000;

const MESSAGE_KEYS = 'seq, ts, readings';
const READING_KEYS = 'code, value, unit, ts';
// Factors for rounding to a code's decimals without a Math.pow per reading.
const POWERS_OF_TEN = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];

/**
 * Throws VigilError (TOO_LARGE, BAD_JSON, BAD_SHAPE, UNKNOWN_CODE, BAD_UNIT, IMPLAUSIBLE,
 * FUTURE, TOO_OLD) with a detail naming the field; details quote at most the offending code,
 * unit or key, never a value or a timestamp.
 */
export function decodeTelemetry(
  payload: Buffer | Uint8Array,
  registry: CodeRegistry,
  limits: DecodeLimits,
): DecodedTelemetry {
  const message = requireJsonObject(
    parsePayloadJson(payload, limits.maxBytes ?? DEFAULT_MAX_TELEMETRY_BYTES),
  );
  for (const key in message) {
    if (key !== 'seq' && key !== 'ts' && key !== 'readings') refuseUnknownKey('payload', key, MESSAGE_KEYS);
  }
  const window = clockWindow(limits);
  const seq = readSeq(message.seq);
  const tsMs = readTimestamp(message.ts, window, 'ts', -1);
  const list = readReadingList(message.readings, limits.maxReadings ?? DEFAULT_MAX_READINGS);
  const readings: DecodedReading[] = [];
  for (let index = 0; index < list.length; index++) {
    readings.push(readReading(list[index], index, registry, tsMs, window));
  }
  return { seq, tsMs, readings };
}

function readSeq(value: unknown): number {
  // `+ 0` turns a JSON -0 into 0, so the replay guard and the store never see -0.
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value + 0;
  if (value === undefined) refuseShape('seq is missing');
  const got = typeof value === 'number' ? String(value) : jsonTypeName(value);
  refuseShape(`seq must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got ${got}`);
}

function readReadingList(value: unknown, maxReadings: number): readonly unknown[] {
  if (!Array.isArray(value)) {
    refuseShape(
      value === undefined ? 'readings is missing' : `readings must be an array, got ${jsonTypeName(value)}`,
    );
  }
  if (value.length === 0) refuseShape('readings must hold at least one reading');
  if (value.length > maxReadings) {
    refuseShape(
      `readings holds ${value.length} readings; at most ${maxReadings} are accepted in one message`,
    );
  }
  return value;
}

function readReading(
  raw: unknown,
  index: number,
  registry: CodeRegistry,
  messageTsMs: number,
  window: ClockWindow,
): DecodedReading {
  if (!isJsonObject(raw)) refuseShape(`readings[${index}] must be an object, got ${jsonTypeName(raw)}`);
  checkReadingKeys(raw, index);
  const vital = readCode(raw.code, index, registry);
  const unit = raw.unit;
  if (typeof unit !== 'string') refuseType(unit, 'unit', index, 'a UCUM unit string such as "/min"');
  const convert = readUnit(unit, index, vital);
  const value = readValue(raw.value, index, vital, convert, unit);
  // A reading without its own ts was taken at the message's ts.
  const tsMs = raw.ts === undefined ? messageTsMs : readTimestamp(raw.ts, window, 'ts', index);
  // The registry's strings, not the payload's: equal, interned, and holding no parse buffer.
  return { code: vital.code, value, unit: vital.canonicalUnit, tsMs };
}

function checkReadingKeys(reading: JsonObject, index: number): void {
  for (const key in reading) {
    if (key !== 'code' && key !== 'value' && key !== 'unit' && key !== 'ts') {
      refuseUnknownKey(`readings[${index}]`, key, READING_KEYS);
    }
  }
}

function readCode(code: unknown, index: number, registry: CodeRegistry): VitalCode {
  if (typeof code !== 'string') refuseType(code, 'code', index, 'a string such as "8867-4"');
  const vital = registry.get(code);
  if (vital === undefined) {
    throw new VigilError(
      'VIGIL_ERR_INGEST_UNKNOWN_CODE',
      `readings[${index}].code ${quoteForDetail(code)} is not a known code; ` +
        'an administrator must add it with its units and plausible range',
    );
  }
  return vital;
}

function readUnit(unit: string, index: number, vital: VitalCode): UnitConversion {
  // Registry entries have prototype-free `units`, so this lookup sees accepted units only.
  const convert = vital.units[unit];
  if (convert === undefined) {
    throw new VigilError(
      'VIGIL_ERR_INGEST_BAD_UNIT',
      `readings[${index}].unit ${quoteForDetail(unit)} is not accepted for ${vital.code}; use ${acceptedUnits(vital)}`,
    );
  }
  return convert;
}

function readValue(
  value: unknown,
  index: number,
  vital: VitalCode,
  convert: UnitConversion,
  unit: string,
): number {
  // JSON.parse turns an overlong literal such as 1e400 into Infinity, hence isFinite.
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    refuseType(value, 'value', index, 'a finite number');
  }
  const canonical = convert(value);
  const { min, max } = vital.plausible;
  // Written to refuse NaN too, should an administrator's conversion produce one.
  if (!(canonical >= min && canonical <= max)) {
    const converted = unit === vital.canonicalUnit ? '' : ` after conversion from ${unit}`;
    throw new VigilError(
      'VIGIL_ERR_INGEST_IMPLAUSIBLE',
      `readings[${index}].value is outside the plausible range ${min}-${max} ${vital.canonicalUnit} ` +
        `for ${vital.code}${converted}; check the sensor and the unit`,
    );
  }
  return roundTo(canonical, vital.decimals);
}

function roundTo(value: number, decimals: number): number {
  const factor = POWERS_OF_TEN[decimals] ?? 10 ** decimals;
  // `+ 0` turns -0 (Math.round of a small negative) into 0.
  return Math.round(value * factor) / factor + 0;
}

function acceptedUnits(vital: VitalCode): string {
  const others = Object.keys(vital.units).filter((unit) => unit !== vital.canonicalUnit);
  const quoted = [vital.canonicalUnit, ...others].map((unit) => `"${unit}"`);
  return quoted.length === 1 ? `${quoted[0]}` : `one of ${quoted.join(', ')}`;
}

function refuseType(value: unknown, key: string, index: number, expected: string): never {
  const problem = value === undefined ? 'is missing' : `must be ${expected}, got ${jsonTypeName(value)}`;
  refuseShape(`${fieldLabel(key, index)} ${problem}`);
}
