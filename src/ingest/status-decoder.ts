/**
 * Decodes a device status payload (DESIGN.md "Device protocol", topic v1/devices/{id}/status):
 * `{ "ts", "battery", "firmware", "uptime" }`, ts required, the rest optional. Same strictness
 * as telemetry: unknown keys, wrong types and out-of-range values are refused whole.
 */
import { jsonTypeName } from './detail-text.ts';
import { parsePayloadJson, refuseShape, refuseUnknownKey, requireJsonObject } from './payload-json.ts';
import type { DecodeLimits } from './telemetry-decoder.ts';
import { clockWindow, readTimestamp } from './timestamps.ts';

export interface DecodedStatus {
  tsMs: number;
  batteryPercent?: number;
  firmware?: string;
  uptimeSeconds?: number;
}

export type StatusLimits = Omit<DecodeLimits, 'maxReadings'>;

/** A status message is about 100 bytes; 4 KiB leaves room and bounds the work on abuse. */
export const DEFAULT_MAX_STATUS_BYTES = 4 * 1024;
export const MAX_FIRMWARE_CHARS = 64;

const STATUS_KEYS = 'ts, battery, firmware, uptime';

/** Throws VigilError (TOO_LARGE, BAD_JSON, BAD_SHAPE, FUTURE, TOO_OLD) naming the field. */
export function decodeStatus(payload: Buffer | Uint8Array, limits: StatusLimits): DecodedStatus {
  const message = requireJsonObject(parsePayloadJson(payload, limits.maxBytes ?? DEFAULT_MAX_STATUS_BYTES));
  for (const key in message) {
    if (key !== 'ts' && key !== 'battery' && key !== 'firmware' && key !== 'uptime') {
      refuseUnknownKey('payload', key, STATUS_KEYS);
    }
  }
  const status: DecodedStatus = { tsMs: readTimestamp(message.ts, clockWindow(limits), 'ts', -1) };
  if (message.battery !== undefined) status.batteryPercent = readBattery(message.battery);
  if (message.firmware !== undefined) status.firmware = readFirmware(message.firmware);
  if (message.uptime !== undefined) status.uptimeSeconds = readUptime(message.uptime);
  return status;
}

function readBattery(value: unknown): number {
  if (typeof value === 'number' && value >= 0 && value <= 100) return value + 0;
  refuseShape(`battery must be a number from 0 to 100 (percent), got ${describe(value)}`);
}

/**
 * Printable ASCII only: the version is shown on the dashboard, logged, and matched against
 * SBOMs and advisories, where control or look-alike Unicode characters would mislead.
 */
function readFirmware(value: unknown): string {
  if (typeof value !== 'string') refuseShape(`firmware must be a string, got ${jsonTypeName(value)}`);
  if (value.length === 0 || value.length > MAX_FIRMWARE_CHARS || !isPrintableAscii(value)) {
    refuseShape(`firmware must be 1-${MAX_FIRMWARE_CHARS} printable ASCII characters, such as "2.4.1"`);
  }
  return value;
}

function readUptime(value: unknown): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value + 0;
  refuseShape(`uptime must be a whole number of seconds from 0, got ${describe(value)}`);
}

/** Device health numbers are not patient data, so an out-of-range number may be quoted. */
function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : jsonTypeName(value);
}

function isPrintableAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}
