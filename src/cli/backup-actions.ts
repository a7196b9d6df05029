/** What `vigil backup` and `vigil restore` do, once backup-commands.ts has parsed their flags. */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { anchorPath, writeAnchor } from '../audit/audit-anchor.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { AuditSigner } from '../audit/audit-signer.ts';
import type { CheckpointRow } from '../audit/audit-verify.ts';
import { open } from '../crypto/aead.ts';
import { KeyRing } from '../crypto/key-ring.ts';
import { loadMasterKeyFile, type MasterKey, writeMasterKeyFile } from '../crypto/master-key.ts';
import { loadDeviceCa } from '../devices/device-ca.ts';
import { VigilError } from '../errors/catalogue.ts';
import {
  backupSqlite,
  inspectBackup,
  installBackup,
  lockForRestore,
  masterKeyIdsOf,
  readBackup,
} from '../store/backup.ts';
import { openStore, type Store, sqlitePath } from '../store/database.ts';
import { fsyncFolderOf } from '../store/durable-file.ts';
import { replaceFile } from '../store/replace-file.ts';
import { type CommonFlags, cliActor, configFrom } from './context.ts';
import { openLocal } from './open-local.ts';
import { emit } from './output.ts';

export type BackupFlags = CommonFlags & { out: string; force?: boolean };
export type RestoreFlags = CommonFlags & { force?: boolean };

/**
 * The copy is one step (see backupSqlite), so there is no share done to show while it runs: say
 * what is being copied when it starts and that it is done when it ends, rather than a bar that
 * sits at 0% and then jumps.
 */
function copyProgress(json: boolean | undefined) {
  return (done: number, total: number) => {
    if (json || !process.stderr.isTTY || total === 0) return;
    if (done === 0) process.stderr.write(`backing up ${total} pages in one consistent pass...`);
    else if (done === total) process.stderr.write(' done\n');
  };
}

/**
 * Checks the master key opens the backup's sealed secrets before anything is replaced; returns
 * the key. A secret sealed under this very key is the one tried, so a backup made during a
 * rotation (secrets under two keys) is judged by the key given.
 */
function assertMasterKeyOpens(file: string, masterKeyFile: string): MasterKey {
  if (!existsSync(masterKeyFile)) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `restore needs the master key the backup was made under (${madeUnder(file)}); put it at ${masterKeyFile} or set VIGIL_MASTER_KEY_FILE`,
    );
  }
  const master = loadMasterKeyFile(masterKeyFile);
  readBackup(file, (db) => {
    const row = (db
      .prepare('SELECT name, sealed FROM sealed_secrets ORDER BY master_key_id = ? DESC LIMIT 1')
      .get(master.id) ?? undefined) as { name: string; sealed: Buffer } | undefined;
    if (!row)
      throw new VigilError(
        'VIGIL_ERR_REQUEST_INVALID',
        `${file} holds no sealed secrets; not a Vigil backup`,
      );
    try {
      open(master.key, row.sealed, `secret|${row.name}`);
    } catch {
      throw new VigilError(
        'VIGIL_ERR_CRYPTO_OPEN_FAILED',
        `the master key at ${masterKeyFile} (${master.id}) does not open this backup: it was made under ${madeUnder(file)}; give restore that key with VIGIL_MASTER_KEY_FILE`,
      );
    }
  });
  return master;
}

/** "master key mk-…" (or keys, for a backup made during a rotation), as the backup records it. */
function madeUnder(file: string): string {
  const ids = masterKeyIdsOf(file);
  return ids.length === 1 ? `master key ${ids[0]}` : `master keys ${ids.join(' and ')}`;
}

/** A name for what a restore moves aside, that sorts by time and is never reused. */
function beforeRestoreName(file: string): string {
  return `${file}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
}

function sameKey(a: MasterKey, b: MasterKey): boolean {
  return a.id === b.id && a.key.equals(b.key);
}

/**
 * Makes `<data-dir>/master.key` the key that opened the backup. Left as it was, the data dir kept
 * another installation's key: every console command then wrapped new keys under it while the
 * restored rows stayed under the backup's, and the server refused the split store. The key the
 * data dir had is not destroyed (it may be the only one opening that installation's backups):
 * it is moved aside, durably, and the caller says where. Returns that path, if any.
 */
function installRestoredKey(dataDir: string, masterKeyFile: string, master: MasterKey): string | undefined {
  const own = join(dataDir, 'master.key');
  if (resolve(masterKeyFile) === resolve(own)) return undefined;
  let movedAside: string | undefined;
  if (existsSync(own)) {
    let held: MasterKey | undefined;
    try {
      held = loadMasterKeyFile(own);
    } catch {
      held = undefined; // Damaged or readable by others: moved aside all the same, not trusted.
    }
    if (held && sameKey(held, master)) return undefined;
    movedAside = beforeRestoreName(own);
    renameSync(own, movedAside);
  }
  // The rename and the new file are both made durable by the folder fsync writeMasterKeyFile does.
  writeMasterKeyFile(own, master);
  return movedAside;
}

/**
 * The anchor names the newest checkpoint of the replaced database; kept, it made `vigil audit
 * verify` report the restored trail as cut and the server refuse to sign. It is moved aside (it
 * is evidence about the replaced database), and the restored store's newest checkpoint is
 * anchored instead, once its trail has verified with signatures.
 */
function moveAnchorAside(dataDir: string): string | undefined {
  const file = anchorPath(dataDir);
  if (!existsSync(file)) return undefined;
  const aside = beforeRestoreName(file);
  renameSync(file, aside);
  fsyncFolderOf(file);
  return aside;
}

export async function backup(o: BackupFlags): Promise<void> {
  const { store, config } = await openLocal(o);
  try {
    if (!store.sqlite) {
      throw new VigilError(
        'VIGIL_ERR_CONFIG_INVALID',
        'vigil backup covers the SQLite store; back up PostgreSQL with pg_dump or your database platform',
      );
    }
    const out = resolve(o.out);
    const summary = await backupSqlite(store.sqlite, out, {
      force: o.force === true,
      onProgress: copyProgress(o.json),
    });
    await new AuditLog(store.db).append({
      actor: cliActor(),
      action: 'system.backup',
      resource: 'System',
      outcome: 'success',
    });
    const masterKeyIds = masterKeyIdsOf(out);
    emit(
      o,
      { ...summary, masterKeyIds },
      [
        `backup of ${config.dataDir} written: ${(summary.bytes / 1048576).toFixed(1)} MiB, sha256 ${summary.sha256}`,
        `  ${Object.entries(summary.counts)
          .map(([t, n]) => `${t} ${n}`)
          .join(' · ')}`,
        `  made under master key ${masterKeyIds.join(' and ')} (${config.masterKeyFile}), which is not in the backup; a restore needs it, and so does every backup made before a "vigil keys rotate"`,
      ],
      out,
    );
  } finally {
    await store.close();
  }
}

export async function restore(file: string, o: RestoreFlags): Promise<void> {
  const config = configFrom(o);
  if (config.databaseUrl) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      'vigil restore covers the SQLite store; restore PostgreSQL with pg_restore',
    );
  }
  const dbPath = sqlitePath(config.dataDir);
  if (existsSync(dbPath) && !o.force) {
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `${config.dataDir} already has a database; stop the server and pass --force to replace it`,
    );
  }
  const counts = inspectBackup(resolve(file));
  const master = assertMasterKeyOpens(resolve(file), config.masterKeyFile);
  // Restoring into a new data dir is the usual disaster-recovery step. Made only once the backup
  // and the key have passed their checks, so a refused restore leaves nothing behind; owner-only,
  // as `vigil init` makes one.
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const lock = lockForRestore(dbPath, config.dataDir);
  let keyMovedAside: string | undefined;
  let anchorMovedAside: string | undefined;
  try {
    installBackup(resolve(file), dbPath);
    keyMovedAside = installRestoredKey(config.dataDir, config.masterKeyFile, master);
    anchorMovedAside = moveAnchorAside(config.dataDir);
  } finally {
    lock.release();
  }

  const store = await openStore({ dataDir: config.dataDir });
  try {
    const keys = new KeyRing(store.db, master);
    const ca = await loadDeviceCa(store.db, keys);
    // Replaced whole: written in place, a crash would leave a truncated trust anchor.
    replaceFile(join(config.dataDir, 'ca.crt'), ca.root.certPem, 0o644);
    const audit = new AuditLog(store.db, store.sqlite);
    await audit.append({
      actor: cliActor(),
      action: 'system.restore',
      resource: 'System',
      outcome: 'success',
    });
    const signer = await AuditSigner.load(store.db, keys);
    const chain = await audit.verify({ check: signer.verifier().check });
    const newest = chain.intact ? await newestCheckpoint(store.db) : undefined;
    if (newest) writeAnchor(config.dataDir, newest);
    const ownKey = join(config.dataDir, 'master.key');
    emit(
      o,
      {
        dataDir: config.dataDir,
        counts,
        auditIntact: chain.intact,
        masterKeyId: master.id,
        masterKeyFile: resolve(config.masterKeyFile) === resolve(ownKey) ? config.masterKeyFile : ownKey,
        keyMovedAside: keyMovedAside ?? null,
        anchorMovedAside: anchorMovedAside ?? null,
        anchoredCheckpoint: newest?.id ?? null,
      },
      [
        `restored ${file} into ${config.dataDir}`,
        `  ${Object.entries(counts)
          .map(([t, n]) => `${t} ${n}`)
          .join(' · ')}`,
        ...(resolve(config.masterKeyFile) === resolve(ownKey)
          ? []
          : [
              `  master key ${master.id} installed as ${ownKey}${keyMovedAside ? `; the key that was there is now ${keyMovedAside}` : ''}`,
            ]),
        chain.intact
          ? `  audit trail intact: ${chain.entries} entries, signed checkpoints verified`
          : `  audit trail BROKEN at entry ${chain.brokenAt}: investigate before serving`,
        ...(anchorMovedAside ? [`  the replaced database's audit anchor is now ${anchorMovedAside}`] : []),
        ...(newest ? [`  audit anchor set to checkpoint ${newest.id} (entries 1-${newest.audit_seq})`] : []),
      ],
      config.dataDir,
    );
    if (!chain.intact) process.exitCode = 3;
  } finally {
    await store.close();
  }
}

async function newestCheckpoint(db: Store['db']): Promise<CheckpointRow | undefined> {
  return db.selectFrom('audit_checkpoints').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirst();
}
