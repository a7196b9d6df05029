/**
 * CPE 2.3 formatted strings (NISTIR 7695 §6.2): `cpe:2.3:part:vendor:product:version:...`,
 * used for operating systems and firmware that have no purl. Matching uses part, vendor and
 * product as the key and compares versions; `*` (ANY) matches every version.
 */

export interface ParsedCpe {
  part: 'a' | 'o' | 'h';
  vendor: string;
  product: string;
  version: string;
  key: string;
}

/** Splits on unescaped colons (a `\\:` inside a value is a literal colon). */
function splitCpe(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      cur += text[i + 1];
      i++;
    } else if (c === ':') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

export function cpeKey(part: string, vendor: string, product: string): string {
  return `cpe:${part}:${vendor.toLowerCase()}:${product.toLowerCase()}`;
}

export function parseCpe(text: string): ParsedCpe | string {
  const parts = splitCpe(text.trim());
  if (parts.length !== 13 || parts[0] !== 'cpe' || parts[1] !== '2.3') {
    return `"${text.slice(0, 120)}" is not a CPE 2.3 formatted string (cpe:2.3: and 11 fields)`;
  }
  const [, , part, vendor, product, version] = parts as [string, string, string, string, string, string];
  if (part !== 'a' && part !== 'o' && part !== 'h') return `CPE part "${part}" must be a, o or h`;
  if (vendor === '' || product === '' || vendor === '*' || product === '*') {
    return `CPE "${text.slice(0, 120)}" must name a vendor and a product`;
  }
  return { part, vendor, product, version, key: cpeKey(part, vendor, product) };
}
