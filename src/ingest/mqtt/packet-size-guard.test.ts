import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { generate, type Packet } from 'mqtt-packet';
import { largestPacketBytes, PacketSizeGuard } from './packet-size-guard.ts';

/** Real packets as devices send them, with payloads of assorted sizes. */
const packet: fc.Arbitrary<Packet> = fc.oneof(
  fc.record({
    cmd: fc.constant('publish' as const),
    topic: fc.constantFrom('v1/devices/a/telemetry', 'v1/devices/b/status'),
    payload: fc.integer({ min: 0, max: 3000 }).map((n) => Buffer.alloc(n, 0x7b)),
    qos: fc.constantFrom(0 as const, 1 as const),
    messageId: fc.integer({ min: 1, max: 0xffff }),
    retain: fc.constant(false),
    dup: fc.constant(false),
  }),
  fc.constant({ cmd: 'pingreq' as const }),
  fc.integer({ min: 1, max: 0xffff }).map((messageId) => ({ cmd: 'puback' as const, messageId })),
);

/** Cuts a buffer into chunks at arbitrary points, as TCP and TLS records would. */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(start, p));
    start = p;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

function remainingLength(bytes: Buffer): number {
  let value = 0;
  for (let i = 1, multiplier = 1; i < 5; i += 1, multiplier *= 128) {
    const byte = bytes.readUInt8(i);
    value += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) break;
  }
  return value;
}

describe('packet size guard', () => {
  it('flags a stream exactly when one of its packets is over the limit, however it is split', () => {
    fc.assert(
      fc.property(
        fc.array(packet, { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.integer({ min: 0, max: 3200 }),
        (packets, cuts, limit) => {
          const encoded = packets.map((p) => generate(p, { protocolVersion: 5 }));
          const firstOver = encoded.findIndex((b) => remainingLength(b) > limit);
          const guard = new PacketSizeGuard(limit);
          const verdicts = chunked(Buffer.concat(encoded), cuts).map((c) => guard.scan(c));
          const flagged = verdicts.find((v) => v.kind !== 'ok');
          if (firstOver === -1) {
            assert.equal(flagged, undefined);
          } else {
            const declared = remainingLength(encoded[firstOver] ?? Buffer.alloc(0));
            assert.deepEqual(flagged, { kind: 'too-large', declaredBytes: declared });
          }
        },
      ),
    );
  });

  it('flags a declared 256 MB packet from its header alone', () => {
    const guard = new PacketSizeGuard(66_560);
    assert.deepEqual(guard.scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f])), {
      kind: 'too-large',
      declaredBytes: 268_435_455,
    });
  });

  it('calls a Remaining Length longer than four bytes malformed', () => {
    const guard = new PacketSizeGuard(1_000_000_000);
    assert.deepEqual(guard.scan(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01])), { kind: 'malformed' });
  });

  it('advertises as largest packet exactly the largest one it lets through', () => {
    for (const maxRemainingLength of [0, 127, 128, 3072, 16_383, 16_384, 2_097_151, 2_097_152]) {
      const largest = largestPacketBytes(maxRemainingLength);
      const accepted = Buffer.alloc(largest);
      accepted.writeUInt8(0x30, 0);
      // Remaining Length as a variable byte integer (§1.5.5) right after the type byte.
      let value = maxRemainingLength;
      let at = 1;
      do {
        const digit = value % 0x80;
        value = Math.floor(value / 0x80);
        accepted.writeUInt8(value > 0 ? digit | 0x80 : digit, at);
        at += 1;
      } while (value > 0);
      assert.equal(
        at + maxRemainingLength,
        largest,
        `${maxRemainingLength}: header and body fill the packet`,
      );
      assert.deepEqual(new PacketSizeGuard(maxRemainingLength).scan(accepted), { kind: 'ok' });
      assert.equal(new PacketSizeGuard(maxRemainingLength + 1).scan(accepted).kind, 'ok');
    }
    assert.equal(largestPacketBytes(3072), 3075);
  });
});
