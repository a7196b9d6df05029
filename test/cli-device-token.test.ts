/** `vigil device token` leaves the same audit trail as its API twin. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { runVigil } from './support/cli-process.ts';

describe('vigil device token', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-cli-token-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('audits the token it issues as device.enrollment-token', async () => {
    for (const args of [
      ['init', '--data-dir', dir],
      ['device', 'add', '--data-dir', dir, '--id', 'tok-dev-1', '--model', 'M', '--serial', 'S'],
      ['device', 'token', '--data-dir', dir, '--id', 'tok-dev-1'],
    ]) {
      const r = await runVigil(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    const db = new Database(join(dir, 'vigil.db'), { readonly: true });
    try {
      const rows = db
        .prepare(
          "SELECT action, outcome, actor FROM audit_log WHERE resource = 'Device/tok-dev-1' ORDER BY seq",
        )
        .all() as Array<{ action: string; outcome: string; actor: string }>;
      assert.deepEqual(
        rows.map((r) => `${r.action}:${r.outcome}`),
        ['device.create:success', 'device.enrollment-token:success'],
      );
      assert.match(rows[1]?.actor ?? '', /^cli:/);
    } finally {
      db.close();
    }
  });
});
