/** What `vigil keys rotate` tells the operator while a server runs on the data dir. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadMasterKeyFile } from '../src/crypto/master-key.ts';
import { runVigil } from './support/cli-process.ts';
import { type Harness, startHarness } from './support/vigil-harness.ts';

describe('vigil keys rotate beside a running server', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.vigil.patients.add('rot-msg-1', { name: 'Ada L' });
  });
  after(async () => {
    await h.stop();
  });

  it('counts what is under the new key, and says the server re-wrapped what it did not', async () => {
    const r = await runVigil(['keys', 'rotate', '--data-dir', h.dataDir], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const newKeyId = loadMasterKeyFile(h.config.masterKeyFile).id;
    const db = h.vigil.store.db;
    const dataKeys = (
      await db
        .selectFrom('data_keys')
        .select('id')
        .where('master_key_id', '=', newKeyId)
        .where('destroyed_at', 'is', null)
        .execute()
    ).length;
    const secrets = (
      await db.selectFrom('sealed_secrets').select('name').where('master_key_id', '=', newKeyId).execute()
    ).length;
    assert.ok(dataKeys > 0 && secrets > 0, `${dataKeys} data keys, ${secrets} secrets`);
    const lines = r.stdout.trim().split('\n');
    assert.match(
      lines[0] ?? '',
      new RegExp(
        `^rotated master key mk-\\S+ -> ${newKeyId}: ${dataKeys} data keys and ${secrets} secrets are under the new key$`,
      ),
    );
    // The server's watcher re-wraps as soon as it sees the new key file; what it got to first
    // the command neither claims nor leaves unsaid.
    const split =
      /^ {2}this command re-wrapped (\d+) data keys and (\d+) secrets; the running server re-wrapped \(or created\) the rest$/.exec(
        lines[1] ?? '',
      );
    if (split) assert.ok(Number(split[1]) < dataKeys || Number(split[2]) < secrets, lines[1]);
    else assert.equal(lines[1], '  the old key was overwritten and removed; back up the new key file now');
    const json = await runVigil(['keys', 'rotate', '--data-dir', h.dataDir, '--json'], {
      timeoutMs: 120_000,
    });
    assert.equal(json.code, 0, json.stderr);
    const result = JSON.parse(json.stdout) as {
      dataKeys: number;
      secrets: number;
      underNewKey: { dataKeys: number; secrets: number };
      underOldKey: { dataKeys: number; secrets: number };
    };
    assert.deepEqual(result.underNewKey, { dataKeys, secrets });
    assert.deepEqual(result.underOldKey, { dataKeys: 0, secrets: 0 });
  });
});
