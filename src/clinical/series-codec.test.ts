import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeReadings, encodeReadings } from './readings-codec.ts';
import { appendReadings, decodeColumns, newSink, type SeriesSink } from './series-codec.ts';

const CODES = ['8867-4', '59408-5', '8310-5', '2339-0'];
const decimalsOf = (code: string) => (code === '8310-5' ? 1 : 0);
const readings = fc.array(
  fc.record({
    code: fc.constantFrom(...CODES),
    value: fc.integer({ min: -5000, max: 5000 }).map((v) => v / 10),
    tsMs: fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 }),
  }),
  { maxLength: 300 },
);

describe('columnar readings decoder', () => {
  it('decodes every blob exactly as the reference decoder does', () => {
    fc.assert(
      fc.property(readings, (rs) => {
        const blob = encodeReadings(rs, decimalsOf);
        const columns = decodeColumns(blob);
        const reference = decodeReadings(blob);
        assert.equal(columns.length, reference.length);
        reference.forEach((r, i) => {
          assert.equal(columns.codes[columns.code[i]!], r.code);
          assert.equal(columns.ts[i], r.tsMs);
          assert.equal(columns.value[i], r.value);
        });
      }),
    );
  });

  it('answers corrupt blobs with a RangeError, never a huge allocation or another error', () => {
    fc.assert(
      fc.property(readings, fc.uint8Array({ maxLength: 64 }), fc.nat(), (rs, noise, at) => {
        const blob = Buffer.from(encodeReadings(rs, decimalsOf));
        const cut = blob.subarray(0, at % (blob.length + 1));
        for (const bad of [cut, Buffer.concat([cut, noise]), Buffer.from(noise)]) {
          try {
            const c = decodeColumns(bad);
            assert.ok(c.length * 3 <= bad.length);
          } catch (e) {
            assert.ok(e instanceof RangeError, String(e));
          }
        }
      }),
    );
  });

  it('appends the readings of a range into per-code series exactly as the reference decodes them', () => {
    fc.assert(
      fc.property(
        readings,
        readings,
        fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 }),
        (a, b, from) => {
          const to = from + 50_000_000_000;
          const sinks = new Map<string, SeriesSink>();
          const sinkOf = (code: string) => {
            if (code === '2339-0') return undefined;
            if (!sinks.has(code)) sinks.set(code, newSink(1));
            return sinks.get(code);
          };
          const expected = new Map<string, Array<[number, number]>>();
          for (const rs of [a, b]) {
            const blob = encodeReadings(rs, decimalsOf);
            appendReadings(blob, from, to, sinkOf);
            for (const r of decodeReadings(blob)) {
              if (r.code === '2339-0' || r.tsMs < from || r.tsMs > to) continue;
              expected.set(r.code, [...(expected.get(r.code) ?? []), [r.tsMs, r.value]]);
            }
          }
          for (const [code, sink] of sinks) {
            const got = Array.from({ length: sink.n }, (_, i): [number, number] => [sink.t[i]!, sink.v[i]!]);
            assert.deepEqual(got, expected.get(code) ?? []);
            const times = got.map(([t]) => t);
            assert.equal(
              sink.ordered,
              times.every((t, i) => i === 0 || times[i - 1]! <= t),
            );
          }
        },
      ),
    );
  });

  it('answers corrupt blobs in append mode with a RangeError too', () => {
    fc.assert(
      fc.property(readings, fc.uint8Array({ maxLength: 64 }), fc.nat(), (rs, noise, at) => {
        const blob = Buffer.from(encodeReadings(rs, decimalsOf));
        const cut = blob.subarray(0, at % (blob.length + 1));
        for (const bad of [cut, Buffer.concat([cut, noise]), Buffer.from(noise)]) {
          try {
            appendReadings(bad, 0, Number.MAX_SAFE_INTEGER, () => newSink(1));
          } catch (e) {
            assert.ok(e instanceof RangeError, String(e));
          }
        }
      }),
    );
  });
});
