/** The audit trail over HTTP: search with paging, and verification that finds tampering. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiTokens } from '../src/access/api-tokens.ts';
import { until } from './support/until.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

describe('audit API', () => {
  let h: Harness;
  let auditor: string;
  before(async () => {
    h = await startHarness();
    auditor = (
      await new ApiTokens(h.vigil.store.db).create({ role: 'auditor', name: 'aud', ttlSeconds: 600 })
    ).token;
    await h.vigil.patients.add('p-aud', { name: 'Audited Person' });
    await h.care('p-aud');
    for (let i = 0; i < 5; i++) await h.api('/api/v1/patients/p-aud/observations');
  });
  after(async () => {
    await h.stop();
  });

  it('searches newest first, filters by patient, and pages with a cursor', async () => {
    const first = await h.api('/api/v1/audit?patient=p-aud&limit=2', { token: auditor });
    assert.equal(first.status, 200, first.text);
    const page = first.json as { entries: Array<{ seq: number; patient: string }>; next: number | null };
    assert.equal(page.entries.length, 2);
    assert.ok(page.entries.every((e) => e.patient === 'p-aud'));
    assert.ok((page.entries[0]?.seq ?? 0) > (page.entries[1]?.seq ?? 0));
    assert.ok(page.next !== null);
    const second = await h.api(`/api/v1/audit?patient=p-aud&limit=2&before=${page.next}`, { token: auditor });
    const page2 = second.json as { entries: Array<{ seq: number }> };
    assert.ok(page2.entries.every((e) => e.seq < (page.next ?? 0)));

    const bad = await h.api('/api/v1/audit?limit=100000', { token: auditor });
    assert.equal(bad.status, 400);
    assert.match(String(bad.headers['content-type']), /application\/problem\+json/);
  });

  it('verifies the trail with signed checkpoints and finds an edited entry', async () => {
    await h.restart(); // stopping signs a checkpoint and writes the anchor file
    assert.ok(existsSync(join(h.dataDir, 'audit-anchor.json')));
    const ok = await h.api('/api/v1/audit/verify', { token: auditor });
    assert.equal(ok.status, 200, ok.text);
    const report = ok.json as { intact: boolean; checkpoints: number; entries: number };
    assert.equal(report.intact, true);
    assert.ok(report.checkpoints >= 1);

    h.vigil.store.sqlite?.prepare("UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 3").run();
    const broken = await h.api('/api/v1/audit/verify', { token: auditor });
    const r = broken.json as { intact: boolean; brokenAt: number; problems: Array<{ kind: string }> };
    assert.equal(r.intact, false);
    assert.equal(r.brokenAt, 3);
    assert.equal(r.problems[0]?.kind, 'edited');
  });
});

describe('audit anchor under a cut tail', () => {
  let h: Harness;
  let auditor: string;
  before(async () => {
    h = await startHarness();
    auditor = (
      await new ApiTokens(h.vigil.store.db).create({ role: 'auditor', name: 'aud', ttlSeconds: 600 })
    ).token;
  });
  after(async () => {
    await h.stop();
  });

  it('keeps the anchor and refuses to sign again after the tail and its checkpoints were cut', async () => {
    const anchorFile = join(h.dataDir, 'audit-anchor.json');
    await h.api('/api/v1/users', { token: auditor });
    await h.restart();
    for (let i = 0; i < 3; i++) await h.api('/api/v1/patients', { token: h.clinicianToken });
    await h.restart();
    const anchored = readFileSync(anchorFile, 'utf8');
    const { id } = JSON.parse(anchored) as { id: number };
    assert.ok(id >= 2);

    // A database-only attacker drops the newest checkpoint and every entry it covered.
    const db = h.vigil.store.sqlite;
    assert.ok(db);
    const prev = db.prepare('SELECT audit_seq FROM audit_checkpoints WHERE id = ?').get(id - 1) as {
      audit_seq: number;
    };
    db.prepare('DELETE FROM audit_log WHERE seq > ?').run(prev.audit_seq);
    db.prepare('DELETE FROM audit_checkpoints WHERE id > ?').run(id - 1);

    await h.api('/api/v1/users', { token: auditor });
    await h.restart(); // stopping and starting both try to sign the head
    assert.equal(readFileSync(anchorFile, 'utf8'), anchored, 'the anchor still names the deleted checkpoint');
    const r = (await h.api('/api/v1/audit/verify', { token: auditor })).json as {
      intact: boolean;
      problems: Array<{ kind: string }>;
    };
    assert.equal(r.intact, false);
    assert.ok(
      r.problems.some((p) => p.kind === 'checkpoint-missing'),
      JSON.stringify(r.problems),
    );
    await until('a security event about the refused checkpoint', async () =>
      (
        await h.vigil.store.db
          .selectFrom('security_events')
          .select('detail')
          .where('code', '=', 'VIGIL_ERR_AUDIT_TAMPERED')
          .execute()
      ).find((e) => /refusing to sign audit checkpoints/.test(e.detail)),
    );
  });
});
