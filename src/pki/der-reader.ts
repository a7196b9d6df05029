/**
 * Just enough DER (X.690) to take a PKCS#10 request apart exactly, without trusting a general
 * ASN.1 parser's leniency: single-octet tags, definite lengths in the shortest form
 * (X.690 §10.1), and no byte left over. A lenient parser accepts several byte strings for one
 * request; the signature then covers bytes other than the ones that were read.
 */

export class DerError extends Error {
  override readonly name = 'DerError';
}

/** One tag-length-value: the tag octet and where its header, content and end lie in the buffer. */
export interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_SEQUENCE = 0x30;
export const TAG_CONTEXT_0_CONSTRUCTED = 0xa0;

export function readTlv(der: Uint8Array, start: number, limit: number = der.length): Tlv {
  const tag = der[start];
  const first = der[start + 1];
  if (tag === undefined || first === undefined || start + 2 > limit)
    throw new DerError('ends in the middle of a value');
  // Tag number 31 means a multi-octet tag, which nothing in a CSR's outer layers uses.
  if ((tag & 0x1f) === 0x1f) throw new DerError('uses a multi-octet tag');
  let length = first;
  let contentStart = start + 2;
  if (first & 0x80) {
    const octets = first & 0x7f;
    // 0x80 is BER's indefinite length; 4 octets already allow 4 GiB.
    if (octets === 0 || octets > 4 || contentStart + octets > limit)
      throw new DerError('has a length that is not DER');
    length = 0;
    for (let i = 0; i < octets; i += 1) length = length * 256 + (der[contentStart + i] ?? 0);
    contentStart += octets;
    const isShortest = length >= 0x80 && der[start + 2] !== 0;
    if (!isShortest) throw new DerError('has a length not in its shortest form');
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError('declares more bytes than it holds');
  return { tag, start, contentStart, end };
}

/** The TLVs inside a constructed value, which must fill it exactly. */
export function readChildren(der: Uint8Array, parent: Tlv): Tlv[] {
  const children: Tlv[] = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    const child = readTlv(der, at, parent.end);
    children.push(child);
    at = child.end;
  }
  return children;
}

/** Reads `der` as exactly one value with the expected tag, nothing after it. */
export function readWhole(der: Uint8Array, tag: number): Tlv {
  const tlv = readTlv(der, 0);
  if (tlv.tag !== tag)
    throw new DerError(`starts with tag 0x${tlv.tag.toString(16)} instead of 0x${tag.toString(16)}`);
  if (tlv.end !== der.length) throw new DerError(`has ${der.length - tlv.end} bytes after its end`);
  return tlv;
}

export function expectTags(children: readonly Tlv[], tags: readonly number[], what: string): void {
  const isMatch = children.length === tags.length && children.every((child, i) => child.tag === tags[i]);
  if (!isMatch) throw new DerError(`does not have the structure of ${what}`);
}
