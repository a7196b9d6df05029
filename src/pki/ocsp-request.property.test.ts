/**
 * Property tests of the OCSP request reader (STYLE.md 13): any bytes, and any damage to a real
 * request, give the request read or an OcspRequestError (which the responder answers with
 * malformedRequest), never another error; a request built field by field is read back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CertID } from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Extension } from '@peculiar/asn1-x509';
import fc from 'fast-check';
import { OcspRequestError, type OcspRequestRead, readOcspRequest } from './ocsp-request.ts';
import { HASH_OIDS, nonceExtension, ocspRequestDer } from './ocsp-test-support.ts';

function readOrRefusal(der: Uint8Array): OcspRequestRead | OcspRequestError {
  try {
    return readOcspRequest(der);
  } catch (e) {
    if (!(e instanceof OcspRequestError)) throw e;
    assert.ok(e.message.length > 0);
    return e;
  }
}

interface Ask {
  hash: keyof typeof HASH_OIDS;
  nameHash: Uint8Array;
  keyHash: Uint8Array;
  /** Serial magnitude as Vigil issues it: 1-20 octets, no leading zero octet. */
  serial: Uint8Array;
}

const arbAsk: fc.Arbitrary<Ask> = fc.record({
  hash: fc.constantFrom('sha1', 'sha256', 'sha384'),
  nameHash: fc.uint8Array({ minLength: 20, maxLength: 32 }),
  keyHash: fc.uint8Array({ minLength: 20, maxLength: 32 }),
  serial: fc
    .uint8Array({ minLength: 1, maxLength: 20 })
    .map((s) => (s[0] === 0 ? Uint8Array.from([1, ...s.subarray(1)]) : s)),
});

function certIdOf(ask: Ask): CertID {
  const serial = (ask.serial[0] ?? 0) & 0x80 ? Uint8Array.from([0, ...ask.serial]) : ask.serial;
  return new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: HASH_OIDS[ask.hash], parameters: null }),
    issuerNameHash: new OctetString(ask.nameHash),
    issuerKeyHash: new OctetString(ask.keyHash),
    serialNumber: serial.slice().buffer,
  });
}

const arbRequest = fc.record({
  asks: fc.array(arbAsk, { minLength: 1, maxLength: 10 }),
  nonce: fc.option(fc.uint8Array({ minLength: 1, maxLength: 32 }), { nil: undefined }),
});

function requestDer(r: { asks: Ask[]; nonce: Uint8Array | undefined }): Buffer {
  return ocspRequestDer(
    r.asks.map(certIdOf),
    r.nonce === undefined ? {} : { extensions: [nonceExtension(r.nonce)] },
  );
}

describe('readOcspRequest, properties', () => {
  it('reads back every CertID, serial, hash and nonce of a request built field by field', () => {
    fc.assert(
      fc.property(arbRequest, (r) => {
        const out = readOrRefusal(requestDer(r));
        assert.ok(!(out instanceof OcspRequestError), String(out));
        assert.equal(out.entries.length, r.asks.length);
        out.entries.forEach((entry, i) => {
          const ask = r.asks[i] ?? assert.fail();
          assert.deepEqual(entry.certIdDer, Buffer.from(AsnConvert.serialize(certIdOf(ask))));
          assert.equal(entry.hash, ask.hash === 'sha384' ? undefined : ask.hash);
          assert.equal(
            entry.serialHex,
            Buffer.from(ask.serial)
              .toString('hex')
              .replace(/^0+(?=.)/, ''),
          );
        });
        if (r.nonce === undefined) assert.equal(out.nonce, undefined);
        else {
          const inner = new Uint8Array(out.nonce?.extnValue.buffer ?? new ArrayBuffer(0));
          assert.deepEqual(inner.subarray(inner.length - r.nonce.length), r.nonce);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('answers a request or an OcspRequestError for any bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.uint8Array({ maxLength: 300 }).map((b) => Uint8Array.from([0x30, 0x81, b.length & 0xff, ...b])),
          fc.uint8Array({ maxLength: 100 }).map((b) => Uint8Array.from([0x30, b.length, ...b])),
        ),
        (der) => {
          readOrRefusal(der);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('answers a request or an OcspRequestError for a real request damaged anywhere', () => {
    fc.assert(
      fc.property(
        arbRequest,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat(), { nil: undefined }),
        (r, flips, cut) => {
          const der = Buffer.from(requestDer(r));
          for (const [at, mask] of flips) der[at % der.length] = (der[at % der.length] ?? 0) ^ mask;
          const out = readOrRefusal(cut === undefined ? der : der.subarray(0, cut % der.length));
          if (out instanceof OcspRequestError) return;
          assert.ok(out.entries.length >= 1 && out.entries.length <= 10);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('refuses more than ten CertIDs, an empty or over-long nonce, and a critical unknown extension', () => {
    fc.assert(
      fc.property(
        arbRequest,
        fc.constantFrom('eleven', 'emptyNonce', 'longNonce', 'critical'),
        fc.array(arbAsk, { minLength: 11, maxLength: 12 }),
        (r, kind, many) => {
          const der =
            kind === 'eleven'
              ? requestDer({ asks: many, nonce: undefined })
              : kind === 'emptyNonce'
                ? ocspRequestDer(r.asks.map(certIdOf), { extensions: [nonceExtension(new Uint8Array(0))] })
                : kind === 'longNonce'
                  ? ocspRequestDer(r.asks.map(certIdOf), { extensions: [nonceExtension(new Uint8Array(33))] })
                  : ocspRequestDer(r.asks.map(certIdOf), {
                      extensions: [
                        nonceExtension(new Uint8Array(8)),
                        new Extension({
                          extnID: '1.2.3.4',
                          critical: true,
                          extnValue: new OctetString(new Uint8Array(1)),
                        }),
                      ],
                    });
          assert.ok(readOrRefusal(der) instanceof OcspRequestError, kind);
        },
      ),
      { numRuns: 100 },
    );
  });
});
