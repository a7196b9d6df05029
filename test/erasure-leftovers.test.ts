/**
 * Crypto-shredding holds only if the erased patient's wrapped data key is gone from every byte
 * on disk: the database file, its WAL and any backup made afterwards. Whoever holds such a
 * byte string and the master key (kept for restores) would unwrap the key and read the patient.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { PatientStore } from '../src/clinical/patients.store.ts';
import { backupSqlite } from '../src/store/backup.ts';
import { sqlitePath } from '../src/store/database.ts';
import { tempStore } from './support/temp-store.ts';

type Temp = Awaited<ReturnType<typeof tempStore>>;

async function patientsAround(t: Temp, victim: string): Promise<PatientStore> {
  const patients = new PatientStore(t.store.db, t.keys);
  for (let i = 0; i < 20; i++) await patients.add(`before-${i}`, { name: `Other ${i}` });
  await patients.add(victim, { name: 'Jane Victim', birthDate: '1970-01-02' });
  for (let i = 0; i < 20; i++) await patients.add(`after-${i}`, { name: `Other ${i}` });
  return patients;
}

async function wrappedKeyOf(t: Temp, owner: string): Promise<Buffer> {
  const row = await t.store.db
    .selectFrom('data_keys')
    .select('wrapped')
    .where('owner_id', '=', owner)
    .executeTakeFirstOrThrow();
  return Buffer.from(row.wrapped);
}

function filesHolding(needle: Buffer, files: string[]): string[] {
  return files.filter((f) => existsSync(f) && readFileSync(f).includes(needle));
}

describe('erasure leaves no copy of the wrapped data key', () => {
  let t: Temp;
  beforeEach(async () => {
    t = await tempStore();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('zeroes what the store connection deletes', () => {
    assert.equal(t.store.sqlite?.pragma('secure_delete', { simple: true }), 1);
  });

  it('leaves it in neither the database file nor the WAL, while the store stays open', async () => {
    const patients = await patientsAround(t, 'victim');
    const wrapped = await wrappedKeyOf(t, 'victim');
    const db = sqlitePath(t.dir);
    assert.equal(filesHolding(wrapped, [db, `${db}-wal`]).length, 1, 'the key is on disk before');

    assert.equal(await patients.erase('victim'), true);

    assert.deepEqual(filesHolding(wrapped, [db, `${db}-wal`]), []);
  });

  it('leaves it out of the database file once checkpointed, and out of a later backup', async () => {
    const patients = await patientsAround(t, 'victim');
    const wrapped = await wrappedKeyOf(t, 'victim');
    // As the server's checkpointer would have done long before the erasure.
    t.store.sqlite?.pragma('wal_checkpoint(TRUNCATE)');
    const db = sqlitePath(t.dir);
    assert.deepEqual(filesHolding(wrapped, [db]), [db], 'the key is in the database file before');

    await patients.erase('victim');
    const out = join(t.dir, 'after-erasure.backup');
    assert.ok(t.store.sqlite);
    await backupSqlite(t.store.sqlite, out);

    assert.deepEqual(filesHolding(wrapped, [db, `${db}-wal`, out]), []);
    assert.ok((await wrappedKeyOf(t, 'after-3')).length > 0, 'other patients keep their keys');
  });
});
