/**
 * Strict PEM reading for untrusted input (RFC 7468 §3): one block with an expected label,
 * nothing around it but whitespace, and base64 in the strict alphabet with correct padding.
 */

export class PemError extends Error {
  override readonly name = 'PemError';
}

const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;
const HEADER = /^-----BEGIN ([A-Z0-9 ]{1,40})-----/;

/** Decodes the single PEM block in `text` whose label is one of `labels`; throws PemError. */
export function decodeSinglePem(text: string, labels: readonly string[], maxChars: number): Buffer {
  // Size first, so no regular expression or decoder ever sees a huge input.
  if (text.length > maxChars)
    throw new PemError(`is ${text.length} characters long, more than the ${maxChars} allowed`);
  const trimmed = text.trim();
  const header = HEADER.exec(trimmed);
  const label = header?.[1];
  if (header === null || label === undefined || !labels.includes(label)) {
    throw new PemError(`does not start with a PEM header "-----BEGIN ${labels[0] ?? ''}-----"`);
  }
  const footer = `-----END ${label}-----`;
  if (!trimmed.endsWith(footer))
    throw new PemError(`does not end with "${footer}" (exactly one PEM block is expected)`);
  const body = trimmed.slice(header[0].length, trimmed.length - footer.length).replace(/[ \t\r\n]/g, '');
  if (body.length === 0 || body.length % 4 !== 0 || !BASE64_BODY.test(body)) {
    throw new PemError('has a body that is not valid base64 (or holds more than one PEM block)');
  }
  return Buffer.from(body, 'base64');
}

/** One PEM block: the label and base64 in lines of 64 characters (RFC 7468 §2). */
export function encodePem(der: Uint8Array, label: string): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
