import { VigilError } from '../errors/catalogue.ts';
import { jsonTypeName, quoteForDetail } from './detail-text.ts';

/** A parsed JSON object (not null, not an array). */
export type JsonObject = Record<string, unknown>;

// One shared decoder: `fatal` makes invalid UTF-8 (overlong forms, lone surrogates, truncated
// sequences) an error instead of silently becoming U+FFFD, so what is stored is what was sent.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The first three steps of every device payload: size (checked before any work, so an
 * oversized payload costs nothing), strict UTF-8 (RFC 8259 §8.1), then JSON.
 */
export function parsePayloadJson(payload: Uint8Array, maxBytes: number): unknown {
  if (payload.byteLength > maxBytes) {
    throw new VigilError(
      'VIGIL_ERR_INGEST_TOO_LARGE',
      `payload is ${payload.byteLength} bytes; the limit is ${maxBytes} bytes`,
    );
  }
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    throw new VigilError('VIGIL_ERR_INGEST_BAD_JSON', 'payload is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    // V8's SyntaxError quotes the payload, so it is neither the detail nor the `cause` (log
    // serialisers print causes); only the position it names is passed on.
    throw new VigilError('VIGIL_ERR_INGEST_BAD_JSON', `payload is not valid JSON${syntaxPosition(e)}`);
  }
}

function syntaxPosition(e: unknown): string {
  const match = e instanceof SyntaxError ? /at position (\d+)/.exec(e.message) : null;
  return match ? ` (syntax error at character ${match[1]})` : '';
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refuses anything but a JSON object at the top of a payload. */
export function requireJsonObject(value: unknown): JsonObject {
  if (!isJsonObject(value)) refuseShape(`payload must be a JSON object, got ${jsonTypeName(value)}`);
  return value;
}

export function refuseShape(detail: string): never {
  throw new VigilError('VIGIL_ERR_INGEST_BAD_SHAPE', detail);
}

/** Refuses a key outside `allowed`, quoting at most a short, escaped excerpt of it. */
export function refuseUnknownKey(where: string, key: string, allowed: string): never {
  refuseShape(`${where} has unknown key ${quoteForDetail(key)}; allowed keys: ${allowed}`);
}
