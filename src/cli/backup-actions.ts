/** What `vigil backup` and `vigil restore` do, once backup-commands.ts has parsed their flags. */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AuditLog } from '../audit/audit-log.ts';
import { open } from '../crypto/aead.ts';
import { KeyRing } from '../crypto/key-ring.ts';
import { loadMasterKeyFile } from '../crypto/master-key.ts';
import { loadDeviceCa } from '../devices/device-ca.ts';
import { VigilError } from '../errors/catalogue.ts';
import { backupSqlite, inspectBackup, installBackup, lockForRestore, readBackup } from '../store/backup.ts';
import { openStore, sqlitePath } from '../store/database.ts';
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

/** Checks the master key opens the backup's sealed secrets before anything is replaced. */
function assertMasterKeyOpens(file: string, masterKeyFile: string): void {
  if (!existsSync(masterKeyFile)) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `restore needs the master key the backup was made under; put it at ${masterKeyFile} or set VIGIL_MASTER_KEY_FILE`,
    );
  }
  const master = loadMasterKeyFile(masterKeyFile);
  readBackup(file, (db) => {
    const row = db.prepare('SELECT name, sealed FROM sealed_secrets LIMIT 1').get() as
      | { name: string; sealed: Buffer }
      | undefined;
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
        `the master key at ${masterKeyFile} does not open this backup; use the key it was made under`,
      );
    }
  });
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
    emit(
      o,
      { ...summary },
      [
        `backup of ${config.dataDir} written: ${(summary.bytes / 1048576).toFixed(1)} MiB, sha256 ${summary.sha256}`,
        `  ${Object.entries(summary.counts)
          .map(([t, n]) => `${t} ${n}`)
          .join(' · ')}`,
        `  the master key (${config.masterKeyFile}) is not in the backup; a restore needs it`,
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
  assertMasterKeyOpens(resolve(file), config.masterKeyFile);
  // Restoring into a new data dir is the usual disaster-recovery step. Made only once the backup
  // and the key have passed their checks, so a refused restore leaves nothing behind; owner-only,
  // as `vigil init` makes one.
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const lock = lockForRestore(dbPath, config.dataDir);
  try {
    installBackup(resolve(file), dbPath);
  } finally {
    lock.release();
  }

  const store = await openStore({ dataDir: config.dataDir });
  try {
    const keys = new KeyRing(store.db, loadMasterKeyFile(config.masterKeyFile));
    const ca = await loadDeviceCa(store.db, keys);
    // Replaced whole: written in place, a crash would leave a truncated trust anchor.
    replaceFile(join(config.dataDir, 'ca.crt'), ca.root.certPem, 0o644);
    const audit = new AuditLog(store.db);
    await audit.append({
      actor: cliActor(),
      action: 'system.restore',
      resource: 'System',
      outcome: 'success',
    });
    const chain = await audit.verify();
    emit(
      o,
      { dataDir: config.dataDir, counts, auditIntact: chain.brokenAt === undefined },
      [
        `restored ${file} into ${config.dataDir}`,
        `  ${Object.entries(counts)
          .map(([t, n]) => `${t} ${n}`)
          .join(' · ')}`,
        chain.brokenAt === undefined
          ? `  audit trail intact: ${chain.entries} entries`
          : `  audit trail BROKEN at entry ${chain.brokenAt}: investigate before serving`,
      ],
      config.dataDir,
    );
    if (chain.brokenAt !== undefined) process.exitCode = 3;
  } finally {
    await store.close();
  }
}
