import { isIP } from 'node:net';
import { VigilError } from '../errors/catalogue.ts';

export interface WebhookUrlPolicy {
  /** http:// to a loopback address (local receivers, tests); https is required otherwise. */
  allowLoopbackHttp: boolean;
}

const MAX_URL_LENGTH = 2048;

function refuse(why: string): never {
  throw new VigilError('VIGIL_ERR_WEBHOOK_URL', `webhook url refused: ${why}`);
}

/**
 * An address in the form the rules compare: brackets off, lower case, and an IPv4-mapped IPv6
 * address (::ffff:a.b.c.d, which URL parsing rewrites to ::ffff:xxxx:xxxx) as plain IPv4.
 */
function canonical(address: string): string {
  const a = address.replace(/^\[|\]$/g, '').toLowerCase();
  if (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4) return a.slice(7);
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
  if (hex) {
    const hi = Number.parseInt(hex[1] ?? '0', 16);
    const lo = Number.parseInt(hex[2] ?? '0', 16);
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
  }
  return a;
}

/** Loopback: 127.0.0.0/8, ::1 and the name localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = canonical(host);
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** AWS's instance metadata service also answers here, on a unique-local (not link-local) address. */
const IPV6_METADATA = 'fd00:ec2::254';

/** The compressed form (RFC 5952) of an IPv6 address, as URL parsing writes it; zone id dropped. */
function compressed(ipv6: string): string {
  return new URL(`http://[${ipv6.replace(/%.*$/, '')}]`).hostname.slice(1, -1);
}

/**
 * Addresses no webhook may reach, whatever the policy: unspecified, link-local (169.254/16 is
 * where cloud metadata services answer, the classic SSRF target), the IPv6 metadata address,
 * and IPv4-mapped forms of them.
 */
export function isForbiddenAddress(address: string): boolean {
  const a = canonical(address);
  if (isIP(a) === 4) return a.startsWith('0.') || a.startsWith('169.254.') || a === '255.255.255.255';
  if (isIP(a) === 6) return a === '::' || /^fe[89ab][0-9a-f]:/.test(a) || compressed(a) === IPV6_METADATA;
  return false;
}

/**
 * Checks a webhook URL when it is registered (SSRF care): https only, except http to loopback
 * when the policy allows it; no user:password (it would end up in logs and the admin list);
 * no fragment; no forbidden address literal; loopback only when allowed. Names are resolved
 * again at every send, where the same address rules apply (see webhooks-sender.ts).
 */
export function parseWebhookUrl(input: unknown, policy: WebhookUrlPolicy): string {
  if (typeof input !== 'string' || input.length === 0) refuse('give an https:// URL');
  if (input.length > MAX_URL_LENGTH) refuse(`longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    refuse('not a URL; give an https:// URL');
  }
  if (url.username !== '' || url.password !== '') {
    refuse('it carries credentials (user:password@); verify deliveries with the signing secret instead');
  }
  if (url.hash !== '' || input.includes('#')) refuse('a fragment (#...) is not sent to servers; remove it');
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol === 'http:') {
    if (!(loopback && policy.allowLoopbackHttp))
      refuse('use https:// (http is allowed to loopback only when configured)');
  } else if (url.protocol !== 'https:') {
    refuse(`scheme ${url.protocol} is not https:`);
  }
  if (url.hostname === '') refuse('no host');
  if (isForbiddenAddress(url.hostname))
    refuse(`address ${url.hostname} is cloud metadata, link-local or unspecified`);
  if (loopback && !policy.allowLoopbackHttp) refuse('loopback addresses are not allowed here');
  return url.toString();
}
