/**
 * Property tests of the audit anchor file reader (STYLE.md 13): whatever the file holds,
 * readAnchor answers the anchor or a VIGIL_ERR_CONFIG_INVALID saying it was damaged, and an
 * anchor written by writeAnchor is read back as written.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { VigilError } from '../errors/catalogue.ts';
import { anchorPath, readAnchor, writeAnchor } from './audit-anchor.ts';

const RUNS = { numRuns: 300 };
const dir = mkdtempSync(join(tmpdir(), 'vigil-anchor-prop-'));

function readOrRefusal(): ReturnType<typeof readAnchor> | VigilError {
  try {
    return readAnchor(dir);
  } catch (e) {
    if (!(e instanceof VigilError)) throw e;
    assert.equal(e.code, 'VIGIL_ERR_CONFIG_INVALID');
    assert.match(e.detail, /audit anchor was damaged/);
    return e;
  }
}

const arbAnchorish = fc.record(
  {
    id: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)),
    auditSeq: fc.oneof(fc.integer(), fc.double(), fc.bigInt().map(String)),
    signature: fc.oneof(fc.base64String(), fc.integer(), fc.constant(null)),
    keyId: fc.string(),
    ts: fc.string(),
  },
  { requiredKeys: [] },
);

describe('readAnchor, properties', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('answers an anchor or a VIGIL_ERR_CONFIG_INVALID for any file content', () => {
    const arbContent = fc.oneof(
      fc.string(),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      arbAnchorish.map((v) => JSON.stringify(v)),
    );
    fc.assert(
      fc.property(arbContent, (content) => {
        writeFileSync(anchorPath(dir), content);
        const out = readOrRefusal();
        if (out instanceof VigilError) return;
        assert.ok(out !== undefined);
        assert.ok(Number.isSafeInteger(out.id) && Number.isSafeInteger(out.auditSeq));
        assert.equal(typeof out.signature, 'string');
      }),
      RUNS,
    );
  });

  it('reads back what writeAnchor wrote', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.nat(),
        fc.base64String({ minLength: 4 }),
        fc.string({ minLength: 1 }),
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        (id, auditSeq, signature, keyId, ts) => {
          writeAnchor(dir, {
            id,
            audit_seq: auditSeq,
            audit_hash: 'a'.repeat(64),
            ts,
            prev_signature: '',
            key_id: keyId,
            signature,
          });
          assert.deepEqual(readOrRefusal(), { id, auditSeq, signature });
        },
      ),
      { numRuns: 100 },
    );
  });
});
