import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type ErrorCode, VigilError } from '../errors/catalogue.ts';
import { type DecodedStatus, decodeStatus, type StatusLimits } from './status-decoder.ts';

const NOW_MS = Date.parse('2026-11-22T10:15:00.000Z');
const DAY_MS = 86_400_000;

type Fields = Record<string, unknown>;

function status(fields: Fields = {}): Fields {
  return { ts: new Date(NOW_MS).toISOString(), battery: 87, firmware: '2.4.1', uptime: 86_400, ...fields };
}

function encode(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function decode(value: unknown, limits: Partial<StatusLimits> = {}): DecodedStatus {
  return decodeStatus(encode(value), { nowMs: NOW_MS, ...limits });
}

function refusedWith(code: ErrorCode, value: unknown, limits: Partial<StatusLimits> = {}): string {
  try {
    decode(value, limits);
  } catch (e) {
    if (!(e instanceof VigilError)) throw e;
    assert.equal(e.code, code, e.detail);
    return e.detail;
  }
  assert.fail('expected the status to be refused');
}

describe('status decoder', () => {
  it('decodes a full status message', () => {
    assert.deepEqual(decode(status()), {
      tsMs: NOW_MS,
      batteryPercent: 87,
      firmware: '2.4.1',
      uptimeSeconds: 86_400,
    });
  });

  it('needs only ts, leaving absent fields out rather than undefined', () => {
    const decoded = decode({ ts: '2026-11-22T10:15:00Z' });
    assert.deepEqual(decoded, { tsMs: NOW_MS });
    assert.deepEqual(Object.keys(decoded), ['tsMs']);
  });

  it('accepts a fractional battery level and the bounds 0 and 100', () => {
    assert.equal(decode(status({ battery: 42.5 })).batteryPercent, 42.5);
    assert.equal(decode(status({ battery: 0 })).batteryPercent, 0);
    assert.equal(decode(status({ battery: 100 })).batteryPercent, 100);
  });

  it('accepts a firmware version of 64 printable characters', () => {
    const firmware = `${'v'.repeat(63)}~`;
    assert.equal(decode(status({ firmware })).firmware, firmware);
  });

  it('refuses a payload over the byte limit', () => {
    const detail = refusedWith('VIGIL_ERR_INGEST_TOO_LARGE', status({ firmware: 'x'.repeat(5000) }));
    assert.match(detail, /the limit is 4096 bytes$/);
  });

  it('refuses a payload that is not JSON', () => {
    assert.throws(
      () => decodeStatus(Buffer.from('battery=87'), { nowMs: NOW_MS }),
      (e) => e instanceof VigilError && e.code === 'VIGIL_ERR_INGEST_BAD_JSON',
    );
  });

  it('refuses a status without ts', () => {
    const { ts: _ts, ...rest } = status();
    assert.equal(refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', rest), 'ts is missing');
  });

  it('refuses an unknown key, naming it', () => {
    const detail = refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', status({ temperature: 40 }));
    assert.equal(
      detail,
      'payload has unknown key "temperature"; allowed keys: ts, battery, firmware, uptime',
    );
  });

  it('refuses a battery level outside 0-100 or not a number', () => {
    for (const battery of [-1, 100.5, '87', null]) {
      assert.match(
        refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', status({ battery })),
        /^battery must be a number from 0 to 100/,
      );
    }
  });

  it('refuses a firmware version that is empty, too long or not printable ASCII', () => {
    for (const firmware of ['', 'x'.repeat(65), '2.4\n1', '2.4.1\u202e', '２.4']) {
      const detail = refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', status({ firmware }));
      assert.equal(detail, 'firmware must be 1-64 printable ASCII characters, such as "2.4.1"');
    }
    assert.equal(
      refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', status({ firmware: 241 })),
      'firmware must be a string, got number',
    );
  });

  it('refuses an uptime that is negative or not whole seconds', () => {
    for (const uptime of [-1, 1.5, '100', 2 ** 53]) {
      assert.match(
        refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', status({ uptime })),
        /^uptime must be a whole number of seconds/,
      );
    }
  });

  it('refuses a loose timestamp', () => {
    assert.match(
      refusedWith('VIGIL_ERR_INGEST_BAD_SHAPE', status({ ts: 'Nov 22' })),
      /^ts is not an RFC 3339/,
    );
  });

  it('refuses a ts more than 5 minutes ahead or older than the backfill window', () => {
    refusedWith('VIGIL_ERR_INGEST_FUTURE', status({ ts: new Date(NOW_MS + 300_001).toISOString() }));
    refusedWith('VIGIL_ERR_INGEST_TOO_OLD', status({ ts: new Date(NOW_MS - 31 * DAY_MS).toISOString() }));
  });

  it('throws nothing but VigilError, always with a detail, for arbitrary input', () => {
    const anyJson = fc.jsonValue({ stringUnit: 'binary', maxDepth: 3 });
    const nearStatus = fc.record(
      {
        ts: fc.oneof(
          fc.integer({ min: -40 * DAY_MS, max: DAY_MS }).map((d) => new Date(NOW_MS + d).toISOString()),
          anyJson,
        ),
        battery: fc.oneof(fc.double(), anyJson),
        firmware: fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), anyJson),
        uptime: fc.oneof(fc.integer(), anyJson),
      },
      { requiredKeys: [] },
    );
    const payloads = fc.oneof(fc.uint8Array({ maxLength: 256 }), fc.oneof(anyJson, nearStatus).map(encode));
    fc.assert(
      fc.property(payloads, (bytes) => {
        try {
          decodeStatus(bytes, { nowMs: NOW_MS });
        } catch (e) {
          if (!(e instanceof VigilError)) throw e;
          assert.ok(e.detail.length > 0);
        }
      }),
      { numRuns: 500 },
    );
  });
});
