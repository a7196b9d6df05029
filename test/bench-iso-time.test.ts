import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isoTime } from '../bench/iso-time.ts';
import { telemetryPayload } from '../bench/load-generator.ts';

describe('the load generator timestamps', () => {
  it('match toISOString for any instant from 1970 to 9999, in any order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 253_402_300_799_999 }), { minLength: 1 }),
        (instants) => {
          for (const ms of instants) assert.equal(isoTime(ms), new Date(ms).toISOString());
        },
      ),
    );
  });

  it('match toISOString across minute, hour and year boundaries', () => {
    const edges = [Date.parse('2026-12-31T23:59:59.999Z'), Date.parse('2024-02-29T23:59:00.000Z')];
    for (const edge of edges) {
      for (let ms = edge - 1500; ms <= edge + 1500; ms += 7)
        assert.equal(isoTime(ms), new Date(ms).toISOString());
    }
  });

  it('build payloads whose times are the readings a second apart, ending now', () => {
    const now = Date.parse('2026-11-27T22:00:00.042Z');
    const payload = JSON.parse(telemetryPayload(9, 5, now)) as {
      ts: string;
      readings: Array<{ ts: string }>;
    };
    assert.equal(payload.ts, '2026-11-27T22:00:00.042Z');
    assert.deepEqual(
      payload.readings.map((r) => r.ts),
      [
        '2026-11-27T21:59:58.042Z',
        '2026-11-27T21:59:58.042Z',
        '2026-11-27T21:59:59.042Z',
        '2026-11-27T21:59:59.042Z',
        '2026-11-27T22:00:00.042Z',
      ],
    );
  });
});
