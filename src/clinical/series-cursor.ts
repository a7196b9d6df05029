import { VigilError } from '../errors/catalogue.ts';
import { isValidId } from '../errors/ids.ts';

/**
 * The sort key of one reading: time, then code, then device, then its ordinal among readings
 * equal in all three (a device may repeat a timestamp). Paging is keyset paging on this key,
 * so a page boundary never skips or repeats a reading even while new readings arrive.
 */
export interface ReadingKey {
  tsMs: number;
  code: string;
  deviceId: string;
  n: number;
}

export function compareKeys(a: ReadingKey, b: ReadingKey): number {
  if (a.tsMs !== b.tsMs) return a.tsMs - b.tsMs;
  if (a.code !== b.code) return a.code < b.code ? -1 : 1;
  if (a.deviceId !== b.deviceId) return a.deviceId < b.deviceId ? -1 : 1;
  return a.n - b.n;
}

const CODE = /^[0-9]{1,7}-[0-9]$/;
const MAX_TS = 8.64e15;

/** An opaque page token: base64url of "k1|ts|code|device|n". It carries no patient data. */
export function encodeCursor(key: ReadingKey): string {
  return Buffer.from(`k1|${key.tsMs}|${key.code}|${key.deviceId}|${key.n}`).toString('base64url');
}

export function decodeCursor(token: string, name = 'cursor'): ReadingKey {
  const bad = () =>
    new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `${name} is not a page token from this server; use the "next" value of the previous page as it is`,
    );
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(token)) throw bad();
  const parts = Buffer.from(token, 'base64url').toString('utf8').split('|');
  if (parts.length !== 5 || parts[0] !== 'k1') throw bad();
  const [, ts, code, deviceId, n] = parts as [string, string, string, string, string];
  if (!/^-?\d{1,16}$/.test(ts) || !/^\d{1,6}$/.test(n)) throw bad();
  const tsMs = Number(ts);
  if (Math.abs(tsMs) > MAX_TS || !CODE.test(code) || !isValidId(deviceId)) throw bad();
  return { tsMs, code, deviceId, n: Number(n) };
}
