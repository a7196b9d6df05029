import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sourceNetworkOf, UNKNOWN_NETWORK } from './source-network.ts';

const group = fc.integer({ min: 0, max: 0xffff });
const groups = fc.array(group, { minLength: 8, maxLength: 8 });
const ipv4 = fc
  .array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 })
  .map((b) => b.join('.'));
const isMapped = (g: number[]) => g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;

/** Ways to write one IPv6 address: full, zero-padded, upper case, longest zero run compressed. */
function spellings(g: number[]): string[] {
  const full = g.map((x) => x.toString(16)).join(':');
  const padded = g.map((x) => x.toString(16).padStart(4, '0')).join(':');
  let best = { at: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = g.map((x) => x.toString(16));
  const compressed =
    best.length >= 2
      ? `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.length).join(':')}`
      : full;
  return [full, padded, padded.toUpperCase(), compressed, `${compressed}%eth0`];
}

describe('source network', () => {
  it('answers an IPv4 address as itself, however a dual-stack socket spells it', () => {
    fc.assert(
      fc.property(ipv4, (a) => {
        const [b0, b1, b2, b3] = a.split('.').map(Number) as [number, number, number, number];
        const hexTail = `${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
        assert.equal(sourceNetworkOf(a), a);
        assert.equal(sourceNetworkOf(`::ffff:${a}`), a);
        assert.equal(sourceNetworkOf(`::FFFF:${hexTail}`), a);
        assert.equal(sourceNetworkOf(`0:0:0:0:0:ffff:${a}`), a);
      }),
    );
  });

  it('answers an IPv6 address as its /64, the same for every spelling', () => {
    fc.assert(
      fc.property(
        groups.filter((g) => !isMapped(g)),
        (g) => {
          const expected = `${g
            .slice(0, 4)
            .map((x) => x.toString(16))
            .join(':')}::/64`;
          for (const spelling of spellings(g)) assert.equal(sourceNetworkOf(spelling), expected, spelling);
        },
      ),
    );
  });

  it('puts two IPv6 addresses in one network exactly when their first 64 bits agree', () => {
    fc.assert(
      fc.property(
        groups.filter((g) => !isMapped(g)),
        groups.filter((g) => !isMapped(g)),
        (a, b) => {
          const same = a.slice(0, 4).every((x, i) => x === b[i]);
          const na = sourceNetworkOf(spellings(a)[0]);
          const nb = sourceNetworkOf(spellings(b)[3]);
          assert.equal(na === nb, same, `${na} ${nb}`);
          // The interface half is free to the client: changing it changes nothing.
          const sibling = [...a.slice(0, 4), ...b.slice(4)];
          if (!isMapped(sibling)) assert.equal(sourceNetworkOf(spellings(sibling)[1]), na);
        },
      ),
    );
  });

  it('never throws, and answers something short for anything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), ipv4, fc.constant(undefined)), (s) => {
        const network = sourceNetworkOf(s);
        assert.ok(network.length <= 24, network);
        if (s === undefined || isIP(s.split('%')[0] ?? '') === 0) assert.equal(network, UNKNOWN_NETWORK);
      }),
    );
  });

  it('keeps IPv4 inside IPv6 that is not mapped (NAT64) as an IPv6 network', () => {
    assert.equal(sourceNetworkOf('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64');
    assert.equal(sourceNetworkOf('::1'), '0:0:0:0::/64');
    assert.equal(sourceNetworkOf('2001:DB8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(sourceNetworkOf('fe80::1%lo'), 'fe80:0:0:0::/64');
  });
});
