import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { id_pkix_ocsp_nonce } from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { Certificate, Extension } from '@peculiar/asn1-x509';
import fc from 'fast-check';
import type { DeviceCa } from './ca-types.ts';
import { createDeviceCa } from './certificate-authority.ts';
import { signDeviceCsr } from './csr-signing.ts';
import { createDeviceKeyAndCsr } from './device-credentials.ts';
import {
  answerOcspRequest,
  type CertificateStatusLookup,
  type IssuedCertificateStatus,
  loadOcspSigner,
  OCSP_VALIDITY_MS,
  type OcspSigner,
  readOcspQuestion,
} from './ocsp.ts';
import { MAX_OCSP_REQUEST_ENTRIES, ocspRequestFromGetPath } from './ocsp-request.ts';
import { nonceExtension, ocspRequestDer, readOcspResponse } from './ocsp-test-support.ts';
import { openssl, scratchDir } from './pki-test-support.ts';

const NOW = Math.floor(Date.now() / 1000) * 1000;
const HOUR = 3_600_000;

/** A lookup over a fixed table, remembering what it was asked. */
function storeOf(table: Record<string, IssuedCertificateStatus>) {
  const asked: string[][] = [];
  const lookup: CertificateStatusLookup = async (serials) => {
    asked.push([...serials]);
    return new Map(serials.flatMap((s) => (table[s] ? [[s, table[s]] as const] : [])));
  };
  return { lookup, asked };
}

describe('OCSP responder', () => {
  let ca: DeviceCa;
  let signer: OcspSigner;
  const serials = { good: '', stolen: '', replaced: '' };
  const leafPem = { good: '' };
  let store: ReturnType<typeof storeOf>;
  const answer = (der: Uint8Array, nowMs = NOW) => answerOcspRequest(der, signer, store.lookup, { nowMs });
  const ask = (serialHex: string, hash?: 'sha1' | 'sha256' | 'sha384') => ({
    issuerPem: ca.issuing.certPem,
    serialHex,
    ...(hash ? { hash } : {}),
  });

  before(async () => {
    ca = await createDeviceCa({ organization: 'Vigil test' });
    signer = await loadOcspSigner(ca, new Date(NOW));
    for (const name of ['good', 'stolen', 'replaced'] as const) {
      const { csrPem } = await createDeviceKeyAndCsr(`ocsp-${name}`);
      const signed = await signDeviceCsr(ca, csrPem, `ocsp-${name}`, { now: new Date(NOW - HOUR) });
      serials[name] = signed.serialHex;
      if (name === 'good') leafPem.good = signed.certificatePem;
    }
    store = storeOf({
      [serials.good]: { revokedAtMs: null, reason: null },
      [serials.stolen]: { revokedAtMs: NOW - 600_500, reason: 'reported stolen' },
      [serials.replaced]: { revokedAtMs: NOW - 60_000, reason: 'superseded' },
    });
  });

  it('answers good, revoked with its time, superseded with its reason, and unknown for a serial never issued', async () => {
    const der = ocspRequestDer([
      ask(serials.good),
      ask(serials.stolen),
      ask(serials.replaced),
      ask('4a1b2c3d4e5f60718293a4b5c6d7e8f9'),
    ]);
    const result = await answer(der);
    assert.equal(result.responseStatus, 'successful');
    assert.deepEqual(result.certStatuses, ['good', 'revoked', 'revoked', 'unknown']);
    const read = readOcspResponse(result.der, ca.issuing.certPem);
    const common = { thisUpdateMs: NOW, nextUpdateMs: NOW + OCSP_VALIDITY_MS };
    assert.deepEqual(read.responses, [
      { serialHex: serials.good, status: 'good', ...common },
      // Whole seconds: GeneralizedTime without fractions.
      { serialHex: serials.stolen, status: 'revoked', revokedAtMs: NOW - 601_000, ...common },
      {
        serialHex: serials.replaced,
        status: 'revoked',
        revokedAtMs: NOW - 60_000,
        reason: 'superseded',
        ...common,
      },
      { serialHex: '4a1b2c3d4e5f60718293a4b5c6d7e8f9', status: 'unknown', ...common },
    ]);
    assert.equal(read.basic?.tbsResponseData.producedAt.getTime(), NOW);
  });

  it('is signed by the issuing CA, named by the SHA-1 of its key, with ecdsa-with-SHA256 and no certificates', async () => {
    const read = readOcspResponse(
      (await answer(ocspRequestDer([ask(serials.good)]))).der,
      ca.issuing.certPem,
    );
    const basic = read.basic;
    assert.ok(basic);
    assert.equal(basic.signatureAlgorithm.algorithm, '1.2.840.10045.4.3.2');
    assert.equal(basic.signatureAlgorithm.parameters, undefined);
    assert.equal(basic.certs, undefined);
    const keyBits = AsnConvert.parse(new X509Certificate(ca.issuing.certPem).raw, Certificate).tbsCertificate
      .subjectPublicKeyInfo.subjectPublicKey;
    assert.deepEqual(
      Buffer.from(basic.tbsResponseData.responderID.byKey?.buffer ?? new ArrayBuffer(0)),
      createHash('sha1').update(Buffer.from(keyBits)).digest(),
    );
  });

  it('reads CertIDs hashed with SHA-256 as well, and answers unknown for a hash it does not compute', async () => {
    const result = await answer(ocspRequestDer([ask(serials.stolen, 'sha256'), ask(serials.good, 'sha384')]));
    assert.deepEqual(result.certStatuses, ['revoked', 'unknown']);
  });

  it('answers unknown for a certificate of another CA with the same serial, without asking the store', async () => {
    const other = await createDeviceCa({ organization: 'Someone else' });
    store.asked.length = 0;
    const result = await answer(
      ocspRequestDer([{ issuerPem: other.issuing.certPem, serialHex: serials.good }]),
    );
    assert.deepEqual(result.certStatuses, ['unknown']);
    assert.deepEqual(store.asked, []);
  });

  it('echoes the nonce byte for byte (RFC 8954) and refuses one longer than 32 bytes or empty', async () => {
    for (const length of [1, 16, 32]) {
      const nonce = nonceExtension(Buffer.alloc(length, 0xab));
      const read = readOcspResponse(
        (await answer(ocspRequestDer([ask(serials.good)], { extensions: [nonce] }))).der,
      );
      assert.deepEqual(read.nonceValue, Buffer.from(nonce.extnValue.buffer), `${length} bytes`);
    }
    for (const length of [0, 33, 64]) {
      const der = ocspRequestDer([ask(serials.good)], { extensions: [nonceExtension(Buffer.alloc(length))] });
      const result = await answer(der);
      assert.equal(result.responseStatus, 'malformedRequest', `${length} bytes`);
      assert.match(result.problem ?? '', /nonce of \d+ bytes/);
    }
    // extnValue holding an INTEGER where RFC 8954 puts an OCTET STRING.
    const notOctets = new Extension({
      extnID: id_pkix_ocsp_nonce,
      extnValue: new OctetString(Buffer.from([0x02, 0x01, 0x05])),
    });
    const bad = await answer(ocspRequestDer([ask(serials.good)], { extensions: [notOctets] }));
    assert.equal(bad.responseStatus, 'malformedRequest');
  });

  it(`answers up to ${MAX_OCSP_REQUEST_ENTRIES} certificates in one request and refuses more`, async () => {
    const many = (n: number) => ocspRequestDer(Array.from({ length: n }, () => ask(serials.good)));
    const most = await answer(many(MAX_OCSP_REQUEST_ENTRIES));
    assert.equal(most.certStatuses.length, MAX_OCSP_REQUEST_ENTRIES);
    assert.equal((await answer(many(MAX_OCSP_REQUEST_ENTRIES + 1))).responseStatus, 'malformedRequest');
    assert.equal((await answer(many(0))).responseStatus, 'malformedRequest');
  });

  it('answers malformedRequest, unsigned, for garbage, trailing bytes, another version or an unknown critical extension', async () => {
    const good = ocspRequestDer([ask(serials.good)]);
    const critical = new Extension({
      extnID: '1.2.3.4',
      critical: true,
      extnValue: new OctetString(Buffer.from([0x05, 0x00])),
    });
    for (const der of [
      Buffer.from('not DER at all'),
      Buffer.alloc(0),
      Buffer.concat([good, Buffer.from([0])]),
      good.subarray(0, good.length - 1),
      ocspRequestDer([ask(serials.good)], { version: 1 }),
      ocspRequestDer([ask(serials.good)], { extensions: [critical] }),
      Buffer.alloc(9000, 0x30),
    ]) {
      const result = await answer(der);
      assert.equal(result.responseStatus, 'malformedRequest', der.subarray(0, 16).toString('hex'));
      // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED malformedRequest(1) }, no body (§2.3).
      assert.equal(result.der.toString('hex'), '30030a0101');
    }
  });

  it('answers internalError when the store fails or the issuing CA has expired', async () => {
    const failing = await answerOcspRequest(
      ocspRequestDer([ask(serials.good)]),
      signer,
      async () => {
        throw new Error('database is down');
      },
      { nowMs: NOW },
    );
    assert.equal(failing.responseStatus, 'internalError');
    assert.equal(failing.der.toString('hex'), '30030a0102');
    const late = await answer(ocspRequestDer([ask(serials.good)]), signer.notAfterMs + 1000);
    assert.equal(late.responseStatus, 'internalError');
  });

  it("satisfies openssl ocsp: signature, issuer's hashes, statuses, times, for SHA-1 and SHA-256 requests", async () => {
    const dir = scratchDir();
    try {
      const files = {
        issuer: dir.write('issuing.pem', ca.issuing.certPem),
        root: dir.write('root.pem', ca.root.certPem),
        leaf: dir.write('leaf.pem', leafPem.good),
      };
      for (const hash of ['-sha1', '-sha256']) {
        // openssl makes the request (its own CertID hashes), reads our answer and verifies it.
        const made = openssl([
          'ocsp',
          hash,
          '-issuer',
          files.issuer,
          '-cert',
          files.leaf,
          '-reqout',
          `${dir.path}/req.der`,
        ]);
        assert.ok(made.ok, made.stderr);
        writeFileSync(`${dir.path}/resp.der`, (await answer(readFileSync(`${dir.path}/req.der`))).der);
        const checked = openssl([
          'ocsp',
          hash,
          '-respin',
          `${dir.path}/resp.der`,
          '-issuer',
          files.issuer,
          '-cert',
          files.leaf,
          '-CAfile',
          files.root,
          '-no_nonce',
        ]);
        assert.ok(checked.ok, checked.stdout + checked.stderr);
        assert.match(checked.stderr, /Response verify OK/);
        assert.match(checked.stdout, /leaf\.pem: good/);
      }
    } finally {
      dir.remove();
    }
  });

  it('answers a request signed by its requester, ignoring the signature', async () => {
    const dir = scratchDir();
    try {
      const key = dir.write(
        'requester.key',
        openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout']).stdout,
      );
      const requester = openssl([
        'req',
        '-x509',
        '-new',
        '-key',
        key,
        '-subj',
        '/CN=auditor',
        '-days',
        '1',
      ]).stdout;
      const made = openssl([
        'ocsp',
        '-issuer',
        dir.write('issuing.pem', ca.issuing.certPem),
        '-cert',
        dir.write('leaf.pem', leafPem.good),
        '-signer',
        dir.write('requester.pem', requester),
        '-signkey',
        key,
        '-reqout',
        `${dir.path}/req.der`,
      ]);
      assert.ok(made.ok, made.stderr);
      const result = await answer(readFileSync(`${dir.path}/req.der`));
      assert.deepEqual(result.certStatuses, ['good']);
    } finally {
      dir.remove();
    }
  });

  describe('properties', () => {
    it('never throws on arbitrary bytes, and always gives one well-formed DER OCSPResponse', async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (bytes) => {
          const result = await answer(bytes);
          const read = readOcspResponse(result.der, ca.issuing.certPem);
          assert.equal(read.status, result.responseStatus);
        }),
        { numRuns: 300 },
      );
    });

    it('never throws on a real request with bytes changed or cut, and answers each entry it reads', async () => {
      const valid = ocspRequestDer([ask(serials.good), ask(serials.stolen, 'sha256')], {
        extensions: [nonceExtension(Buffer.alloc(16, 7))],
      });
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
          fc.nat(valid.length),
          async (changes, cut) => {
            const der = Buffer.from(valid.subarray(0, Math.max(1, valid.length - cut)));
            for (const [at, value] of changes) if (at < der.length) der[at] = value;
            const result = await answer(der);
            const read = readOcspResponse(result.der, ca.issuing.certPem);
            assert.equal(read.responses.length, result.certStatuses.length);
          },
        ),
        { numRuns: 300 },
      );
    });

    it('answers any well-formed request: each serial good, revoked or unknown as the store says', async () => {
      const entry = fc.record({
        serial: fc.constantFrom(
          serials.good,
          serials.stolen,
          serials.replaced,
          'ff',
          '1',
          '7fffffffffffffffffffffffffffffffffffffff',
        ),
        hash: fc.constantFrom('sha1' as const, 'sha256' as const),
      });
      await fc.assert(
        fc.asyncProperty(
          fc.array(entry, { minLength: 1, maxLength: MAX_OCSP_REQUEST_ENTRIES }),
          fc.option(fc.uint8Array({ minLength: 1, maxLength: 32 }), { nil: undefined }),
          async (entries, nonce) => {
            const der = ocspRequestDer(
              entries.map((e) => ask(e.serial, e.hash)),
              nonce ? { extensions: [nonceExtension(nonce)] } : {},
            );
            const read = readOcspResponse((await answer(der)).der, ca.issuing.certPem);
            const expected = entries.map((e) =>
              e.serial === serials.good
                ? 'good'
                : [serials.stolen, serials.replaced].includes(e.serial)
                  ? 'revoked'
                  : 'unknown',
            );
            assert.deepEqual(
              read.responses.map((r) => r.status),
              expected,
            );
            assert.deepEqual(
              read.responses.map((r) => r.serialHex),
              entries.map((e) => e.serial),
            );
            assert.equal(read.nonceValue !== undefined, nonce !== undefined);
          },
        ),
        { numRuns: 100 },
      );
    });

    it('gives two requests one cache key exactly when they ask about the same CertIDs in the same order, nonce or not', async () => {
      const other = await createDeviceCa({ organization: 'Key elsewhere' });
      const entry = fc.record({
        serial: fc.constantFrom(serials.good, serials.stolen, 'ff', '1', '00ff', 'a1b2c3'),
        hash: fc.constantFrom('sha1' as const, 'sha256' as const, 'sha384' as const),
        isOurs: fc.boolean(),
      });
      const request = fc.record({
        entries: fc.array(entry, { minLength: 1, maxLength: MAX_OCSP_REQUEST_ENTRIES }),
        nonce: fc.option(fc.uint8Array({ minLength: 1, maxLength: 32 }), { nil: undefined }),
      });
      const keyOf = (r: {
        entries: { serial: string; hash: 'sha1' | 'sha256' | 'sha384'; isOurs: boolean }[];
        nonce: Uint8Array | undefined;
      }) => {
        const der = ocspRequestDer(
          r.entries.map((e) => ({
            issuerPem: (e.isOurs ? ca : other).issuing.certPem,
            serialHex: e.serial,
            hash: e.hash,
          })),
          r.nonce ? { extensions: [nonceExtension(r.nonce)] } : {},
        );
        const read = readOcspQuestion(der, signer);
        assert.ok('question' in read);
        return read.question.cacheKey;
      };
      // CertIDs are equal when serial, hash and issuer are: '00ff' and 'ff' encode one INTEGER.
      const sameIds = (a: { serial: string; hash: string; isOurs: boolean }[], b: typeof a) =>
        a.length === b.length &&
        a.every((e, i) => {
          const f = b[i];
          const value = (s: string) => BigInt(`0x${s}`);
          return (
            f !== undefined &&
            value(e.serial) === value(f.serial) &&
            e.hash === f.hash &&
            e.isOurs === f.isOurs
          );
        });
      fc.assert(
        fc.property(request, request, (a, b) => {
          assert.equal(keyOf(a) === keyOf(b), sameIds(a.entries, b.entries));
          assert.equal(keyOf(a), keyOf({ ...a, nonce: b.nonce }), 'the nonce is no part of the key');
        }),
        { numRuns: 200 },
      );
    });

    it('decodes the GET form from base64 with or without URL-safe letters and padding, and refuses the rest', () => {
      const der = ocspRequestDer([ask(serials.good)]);
      const b64 = der.toString('base64');
      assert.deepEqual(Buffer.from(ocspRequestFromGetPath(b64)), der);
      assert.deepEqual(Buffer.from(ocspRequestFromGetPath(der.toString('base64url'))), der);
      fc.assert(
        fc.property(fc.string({ maxLength: 200 }), (text) => {
          try {
            ocspRequestFromGetPath(text);
          } catch (e) {
            assert.equal((e as Error).name, 'OcspRequestError');
          }
        }),
      );
      assert.throws(() => ocspRequestFromGetPath('a'.repeat(20_000)), /characters, more than/);
      assert.throws(() => ocspRequestFromGetPath('abc!'), /not base64/);
    });
  });
});
