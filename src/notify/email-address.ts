/**
 * An e-mail address as an administrator types it, checked strictly enough that it can go into
 * an SMTP envelope and a To: header unescaped: no spaces, quotes, angle brackets, commas or
 * control characters (CR/LF would be header injection), a dotted domain of LDH labels.
 * This is narrower than RFC 5321 §4.1.2 on purpose; hospital addresses fit in it.
 */
const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** The address (domain lower-cased), or undefined when it is not one. Never throws. */
export function parseEmailAddress(input: unknown): string | undefined {
  if (typeof input !== 'string') return undefined;
  const value = input.trim();
  // RFC 5321 §4.5.3.1: 64 octets of local part, 254 for a usable whole path.
  if (value.length === 0 || value.length > 254) return undefined;
  const at = value.lastIndexOf('@');
  if (at <= 0 || at > 64) return undefined;
  const local = value.slice(0, at);
  const domain = value.slice(at + 1).toLowerCase();
  if (!LOCAL.test(local)) return undefined;
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return undefined;
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) return undefined;
  return `${local}@${domain}`;
}

/** For logs: enough to tell addresses apart, not enough to read one. */
export function maskEmailAddress(address: string): string {
  const at = address.lastIndexOf('@');
  return at <= 0 ? '***' : `${address[0]}***@${address.slice(at + 1)}`;
}
