import { isIP } from 'node:net';

/** The one network every address that is no IP literal (a closed socket has none) falls into. */
export const UNKNOWN_NETWORK = 'unknown';

/**
 * The network a client address counts for when attempts are throttled per source: an IPv4
 * address as itself, an IPv6 address as its /64. One end site gets at least a /64 (RFC 6177,
 * and SLAAC needs one), so anyone holding a single IPv6 address can pick any of 2^64 in it;
 * keyed by address, a throttle would hold nobody. An IPv4-mapped address (::ffff:a.b.c.d, what
 * a dual-stack socket reports for an IPv4 client) is the IPv4 address: as a /64 it would put
 * every IPv4 client in one network. A zone (%eth0) is dropped: it names an interface of this
 * host, not the client. Never throws; the answer is at most 24 characters.
 */
export function sourceNetworkOf(address: string | undefined): string {
  if (address === undefined) return UNKNOWN_NETWORK;
  const bare = address.split('%', 1)[0] ?? '';
  if (isIP(bare) === 4) return bare;
  if (isIP(bare) !== 6) return UNKNOWN_NETWORK;
  const groups = ipv6Groups(bare.toLowerCase());
  if (isIpv4Mapped(groups)) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** ::ffff:0:0/96 (RFC 4291 §2.5.5.2). */
function isIpv4Mapped(groups: number[]): boolean {
  return groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
}

/** The eight 16-bit groups of an address `isIP` has accepted as IPv6 (lower case, no zone). */
function ipv6Groups(address: string): number[] {
  // A dotted IPv4 tail (::ffff:192.0.2.1, 64:ff9b::1.2.3.4) is the last two groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  let hex = address;
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    hex = `${address.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = hex.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const first = parse(head);
  const last = tail === undefined ? [] : parse(tail);
  return [...first, ...new Array<number>(8 - first.length - last.length).fill(0), ...last];
}
