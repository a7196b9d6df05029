/**
 * Property tests of the strict PEM reader (STYLE.md 13): any text gives the DER of exactly one
 * block with an expected label or a PemError, and whatever encodePem writes is read back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeSinglePem, encodePem, PemError } from './pem.ts';

const RUNS = { numRuns: 1000 };
const LABELS = ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'] as const;
const MAX_CHARS = 16_384;

function decodeOrRefusal(text: string, maxChars = MAX_CHARS): Buffer | PemError {
  try {
    return decodeSinglePem(text, LABELS, maxChars);
  } catch (e) {
    if (!(e instanceof PemError)) throw e;
    assert.ok(e.message.length > 0);
    return e;
  }
}

const arbDer = fc.uint8Array({ minLength: 1, maxLength: 600 });
const arbLabel = fc.constantFrom(...LABELS);

describe('decodeSinglePem, properties', () => {
  it('answers bytes or a PemError for any text', () => {
    const arbText = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc
        .tuple(
          fc.string({ maxLength: 5 }),
          arbLabel,
          fc.base64String(),
          fc.constantFrom(...LABELS, 'CERTIFICATE'),
          fc.string({ maxLength: 5 }),
        )
        .map(
          ([before, open, body, close, afterText]) =>
            `${before}-----BEGIN ${open}-----\n${body}\n-----END ${close}-----${afterText}`,
        ),
    );
    fc.assert(
      fc.property(arbText, (text) => {
        const out = decodeOrRefusal(text);
        if (out instanceof PemError) return;
        assert.ok(out.length > 0);
        assert.ok(text.trim().startsWith('-----BEGIN '));
      }),
      RUNS,
    );
  });

  it('reads back what encodePem wrote, with any whitespace around it', () => {
    fc.assert(
      fc.property(
        arbDer,
        arbLabel,
        fc.stringMatching(/^[ \t\r\n]{0,4}$/),
        fc.stringMatching(/^[ \t\r\n]{0,4}$/),
        fc.boolean(),
        (der, label, before, afterText, isCrlf) => {
          let pem = encodePem(der, label);
          if (isCrlf) pem = pem.replace(/\n/g, '\r\n');
          const out = decodeOrRefusal(`${before}${pem}${afterText}`);
          assert.ok(!(out instanceof PemError), String(out));
          assert.deepEqual(new Uint8Array(out), der);
        },
      ),
      RUNS,
    );
  });

  it('refuses a block with another label, two blocks, text around it, or a body that is not strict base64', () => {
    fc.assert(
      fc.property(
        arbDer,
        arbLabel,
        fc.constantFrom(
          (pem: string) => pem.replace(/CERTIFICATE REQUEST/g, 'CERTIFICATE'),
          (pem: string) => pem + pem,
          (pem: string) => `junk\n${pem}`,
          (pem: string) => `${pem}junk`,
          (pem: string) => pem.replace(/\n-----END/, '!\n-----END'),
          (pem: string) => pem.replace(/\n-----END/, '=\n-----END'),
          (pem: string) => pem.replace(/-----\n/, '-----\n_'),
          (pem: string) => pem.replace(/\n-----END[^\n]*\n$/, '\n'),
        ),
        (der, label, spoil) => {
          const text = spoil(encodePem(der, label));
          assert.ok(decodeOrRefusal(text) instanceof PemError, text.slice(0, 200));
        },
      ),
      RUNS,
    );
  });

  it('refuses text over the size limit before reading it', () => {
    fc.assert(
      fc.property(arbDer, arbLabel, (der, label) => {
        const pem = encodePem(der, label);
        assert.ok(decodeOrRefusal(pem, pem.length - 1) instanceof PemError);
        assert.ok(!(decodeOrRefusal(pem, pem.length) instanceof PemError));
      }),
      { numRuns: 200 },
    );
  });
});
