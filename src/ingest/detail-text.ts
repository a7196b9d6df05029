/**
 * Building blocks for refusal details. A detail is logged and sent back to the device, so it
 * names the offending field and may quote the offending code, unit or key, but never more than
 * a short, escaped excerpt of device-supplied text, and never a measured value or timestamp
 * (those are patient data).
 */

/** Longest device-supplied text quoted in a detail; anything longer is described by its length. */
export const MAX_QUOTED_CHARS = 40;

/**
 * Quotes device-supplied text for a detail: at most MAX_QUOTED_CHARS characters, and every
 * character outside printable ASCII escaped, so a payload cannot forge log lines (newlines,
 * ANSI escapes) or reorder what an operator reads (Unicode bidi controls).
 */
export function quoteForDetail(text: string): string {
  if (text.length > MAX_QUOTED_CHARS) return `a ${text.length}-character string`;
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += text[i];
  }
  return `${out}"`;
}

/** The JSON type of a parsed value, for "must be a string, got number" details. */
export function jsonTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** `key` at the top level (index < 0) or `readings[index].key` inside the readings list. */
export function fieldLabel(key: string, index: number): string {
  return index < 0 ? key : `readings[${index}].${key}`;
}
