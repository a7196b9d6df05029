import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isVigilError } from '../errors/catalogue.ts';
import { anchorPath, readAnchor, writeAnchor } from './audit-anchor.ts';

describe('audit anchor file', () => {
  it('round-trips the newest checkpoint and refuses a damaged file saying so', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-anchor-'));
    try {
      assert.equal(readAnchor(dir), undefined);
      writeAnchor(dir, {
        id: 4,
        audit_seq: 120,
        audit_hash: 'a'.repeat(64),
        ts: 1_800_000_000_000,
        prev_signature: 'p',
        key_id: 'k1',
        signature: 'c2ln',
      });
      assert.deepEqual(readAnchor(dir), { id: 4, auditSeq: 120, signature: 'c2ln' });
      for (const bad of ['{not json', '{"id": "4", "auditSeq": 1, "signature": "x"}', '[]', 'null']) {
        writeFileSync(anchorPath(dir), bad);
        assert.throws(
          () => readAnchor(dir),
          (e) => isVigilError(e) && /audit anchor was damaged/.test(e.detail),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
