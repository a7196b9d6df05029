/**
 * Property tests of the strict DER reader (STYLE.md 13): any bytes give one TLV that lies
 * inside the limit or a DerError, and a TLV encoded in DER is read back exactly, while every
 * non-shortest length form of it is refused (X.690 §10.1).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DerError, readTlv, readWhole, type Tlv } from './der-reader.ts';

const RUNS = { numRuns: 2000 };

function readOrRefusal(der: Uint8Array, start: number, limit?: number): Tlv | DerError {
  try {
    return readTlv(der, start, limit);
  } catch (e) {
    if (!(e instanceof DerError)) throw e;
    return e;
  }
}

/** DER length octets: short form below 128, else the fewest big-endian octets after 0x80|n. */
function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const octets: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) octets.unshift(v % 256);
  return [0x80 | octets.length, ...octets];
}

const arbTag = fc.integer({ min: 0, max: 255 }).filter((t) => (t & 0x1f) !== 0x1f);

describe('readTlv, properties', () => {
  it('answers a TLV inside the limit or a DerError for any bytes, start and limit', () => {
    fc.assert(
      fc.property(
        fc
          .uint8Array({ maxLength: 64 })
          .chain((der) =>
            fc.tuple(fc.constant(der), fc.nat({ max: der.length + 2 }), fc.nat({ max: der.length })),
          ),
        ([der, start, limit]) => {
          const out = readOrRefusal(der, start, limit);
          if (out instanceof DerError) return;
          assert.ok(out.start === start && out.contentStart >= start + 2 && out.end >= out.contentStart);
          assert.ok(out.end <= limit && out.end <= der.length, JSON.stringify(out));
          assert.equal(out.tag, der[start]);
          // What was read is the DER header of its length: one spelling per length.
          assert.deepEqual(
            [...der.subarray(start + 1, out.contentStart)],
            derLength(out.end - out.contentStart),
          );
        },
      ),
      RUNS,
    );
  });

  it('reads back a DER-encoded TLV exactly, wherever it starts', () => {
    fc.assert(
      fc.property(
        arbTag,
        fc.oneof(fc.nat({ max: 300 }), fc.integer({ min: 0, max: 70_000 })),
        fc.uint8Array({ maxLength: 8 }),
        (tag, length, prefix) => {
          const der = Uint8Array.from([...prefix, tag, ...derLength(length), ...new Uint8Array(length)]);
          const header = 1 + derLength(length).length;
          assert.deepEqual(readTlv(der, prefix.length), {
            tag,
            start: prefix.length,
            contentStart: prefix.length + header,
            end: der.length,
          });
          if (prefix.length === 0) assert.equal(readWhole(der, tag).end, der.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a length in a longer form than needed, an indefinite length, or too few bytes', () => {
    fc.assert(
      fc.property(arbTag, fc.nat({ max: 300 }), fc.integer({ min: 1, max: 3 }), (tag, length, extra) => {
        const shortest = derLength(length);
        const octets = shortest.length === 1 ? [length] : shortest.slice(1);
        const padded = [0x80 | (octets.length + extra), ...new Array<number>(extra).fill(0), ...octets];
        const content = new Uint8Array(length);
        const bads = [
          [tag, ...padded, ...content],
          [tag, 0x80, ...content, 0, 0],
        ];
        if (length > 0) bads.push([tag, ...shortest, ...content.subarray(1)]);
        for (const bad of bads) {
          assert.ok(
            readOrRefusal(Uint8Array.from(bad), 0) instanceof DerError,
            JSON.stringify(bad.slice(0, 8)),
          );
        }
      }),
      { numRuns: 500 },
    );
  });
});
