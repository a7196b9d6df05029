import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  createReadStream,
  existsSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { VigilError } from '../errors/catalogue.ts';
import { fsyncFolderOf, fsyncPath, openFresh } from './durable-file.ts';
import { newerVigilDetail, unknownMigrations } from './migrate.ts';

/**
 * Backups of the SQLite store. A backup is one SQLite file made with SQLite's online backup
 * API, so it is consistent while the server keeps writing. Everything in it that matters is
 * already sealed under the master key, which is deliberately NOT in the backup: whoever steals
 * a backup tape gets ciphertext, and a restore needs the master key kept apart from it.
 */
export interface BackupSummary {
  file: string;
  bytes: number;
  sha256: string;
  counts: Record<string, number>;
}

const COUNTED = ['patients', 'devices', 'reading_chunks', 'reading_staging', 'audit_log'] as const;

/**
 * Hashed as a stream, in memory of one chunk whatever the size: reading the whole file at once
 * fails past 2 GiB (ERR_FS_FILE_TOO_LARGE), and a database grows past that.
 */
async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/**
 * Runs `check` on a backup opened read-only, and leaves nothing beside it. A backup made before
 * backupSqlite switched its copy to rollback mode says "WAL" in its header, and SQLite opening
 * such a file creates `-wal` and `-shm` files that a read-only connection may not remove when it
 * closes. Those it created (none existed before, and the WAL holds nothing: a read-only
 * connection writes no frames) are removed here.
 */
export function readBackup<T>(file: string, check: (db: BetterSqlite3.Database) => T): T {
  const created = ['-wal', '-shm'].map((suffix) => `${file}${suffix}`).filter((f) => !existsSync(f));
  let db: BetterSqlite3.Database;
  try {
    db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  } catch (cause) {
    throw new VigilError('VIGIL_ERR_REQUEST_INVALID', `${file} cannot be opened as a Vigil backup`, {
      cause,
    });
  }
  try {
    return check(db);
  } finally {
    db.close();
    const wal = `${file}-wal`;
    if (created.includes(wal) && existsSync(wal) && statSync(wal).size === 0) {
      for (const f of created) rmSync(f, { force: true });
    }
  }
}

/** Opens a candidate backup read-only and checks it is whole and is a Vigil database. */
export function inspectBackup(file: string): Record<string, number> {
  if (!existsSync(file)) {
    throw new VigilError('VIGIL_ERR_REQUEST_INVALID', `backup file ${file} does not exist`);
  }
  return readBackup(file, (db) => {
    let integrity: unknown;
    try {
      integrity = db.pragma('integrity_check', { simple: true });
    } catch (cause) {
      throw new VigilError(
        'VIGIL_ERR_REQUEST_INVALID',
        `${file} is not a SQLite database (not a Vigil backup)`,
        {
          cause,
        },
      );
    }
    if (integrity !== 'ok') {
      throw new VigilError(
        'VIGIL_ERR_REQUEST_INVALID',
        `${file} is damaged (integrity check: ${String(integrity).slice(0, 80)}); use another backup`,
      );
    }
    const tables = new Set(
      (
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>
      ).map((r) => r.name),
    );
    for (const t of [...COUNTED, 'settings', 'sealed_secrets']) {
      if (!tables.has(t)) {
        throw new VigilError(
          'VIGIL_ERR_REQUEST_INVALID',
          `${file} has no ${t} table; it is not a Vigil backup`,
        );
      }
    }
    // Checked before the data dir is touched: the newer store would replace it and then fail to
    // open, leaving neither database.
    if (tables.has('kysely_migration')) {
      const recorded = (db.prepare('SELECT name FROM kysely_migration').all() as Array<{ name: string }>).map(
        (r) => r.name,
      );
      const unknown = unknownMigrations(recorded);
      if (unknown.length > 0) {
        throw new VigilError('VIGIL_ERR_REQUEST_INVALID', newerVigilDetail(`backup ${file}`, unknown));
      }
    }
    const counts: Record<string, number> = {};
    for (const t of COUNTED) {
      counts[t] = (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    }
    return counts;
  });
}

/**
 * The master keys a backup's live data keys and secrets are wrapped by, in the order of how many
 * rows each wraps (most first): a restore needs them, and they are not in the backup.
 */
export function masterKeyIdsOf(file: string): string[] {
  return readBackup(file, (db) =>
    (
      db
        .prepare(
          `SELECT master_key_id AS id, count(*) AS n FROM (
             SELECT master_key_id FROM data_keys WHERE destroyed_at IS NULL
             UNION ALL SELECT master_key_id FROM sealed_secrets)
           GROUP BY master_key_id ORDER BY n DESC, id`,
        )
        .all() as Array<{ id: string }>
    ).map((r) => r.id),
  );
}

/**
 * The copy carries the source's header, which says WAL: opened later, even read-only, it would
 * grow `-wal` and `-shm` files beside it, and a renamed copy would leave its own behind. In
 * rollback (DELETE) mode a backup is one self-contained file; a restored database is put back
 * in WAL mode when the store opens it.
 */
function makeSelfContained(file: string): void {
  const db = new BetterSqlite3(file, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
  } finally {
    db.close();
  }
}

/**
 * More pages than any database has: the whole copy is one backup step. SQLite's online backup
 * starts over whenever another connection commits between two steps, so a backup made in small
 * steps never finished while the server kept committing. One step holds just a WAL read
 * snapshot for the copy: the server goes on committing meanwhile.
 */
const ALL_PAGES = 0x7fffffff;

/**
 * Writes a consistent snapshot of a live database to `out` (atomically and durably: temp file,
 * checked, hashed, fsynced, renamed, folder fsynced). Everything that can fail happens before the
 * rename, so a backup at `out` is a whole one and the caller gets to audit it.
 * `onProgress` hears (0, total) as the copy starts and (total, total) when it has ended, in
 * pages: the copy is one step, so there is nothing true to say in between.
 */
export async function backupSqlite(
  source: BetterSqlite3.Database,
  out: string,
  opts: { force?: boolean; onProgress?: (done: number, total: number) => void } = {},
): Promise<BackupSummary> {
  if (existsSync(out) && !opts.force) {
    throw new VigilError('VIGIL_ERR_REQUEST_INVALID', `${out} exists; choose another --out or pass --force`);
  }
  if (!existsSync(dirname(out))) {
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `folder ${dirname(out)} does not exist; create it first`,
    );
  }
  const temp = `${out}.partial-${process.pid}`;
  try {
    // Owner-only before the first page lands: the copy holds everything the database does.
    closeSync(openFresh(temp, 0o600));
    const { totalPages } = await source.backup(temp, {
      progress: ({ totalPages: total }) => {
        opts.onProgress?.(0, total);
        return ALL_PAGES;
      },
    });
    opts.onProgress?.(totalPages, totalPages);
    makeSelfContained(temp);
    chmodSync(temp, 0o600);
    const counts = inspectBackup(temp);
    const sha256 = await sha256Of(temp);
    const bytes = statSync(temp).size;
    fsyncPath(temp);
    renameSync(temp, out);
    fsyncFolderOf(out);
    return { file: out, bytes, sha256, counts };
  } finally {
    for (const f of [temp, `${temp}-wal`, `${temp}-shm`, `${temp}-journal`]) rmSync(f, { force: true });
  }
}

export interface RestoreLock {
  release(): void;
}

/**
 * Keeps every other process off the data dir's database while a restore replaces it. In WAL
 * mode each open connection holds a shared lock on the database file until it closes (SQLite
 * itself relies on it to find the last connection), so the exclusive lock is refused while a
 * server, or any vigil command, has the file open. Replacing the file under a server would let
 * it go on acknowledging writes into the unlinked old file, lost at its next start. The lock is
 * held until release(), after the swap, so no server opens the old file in between.
 */
export function lockForRestore(dbPath: string, dataDir: string): RestoreLock {
  if (!existsSync(dbPath)) return { release: () => {} };
  const db = new BetterSqlite3(dbPath, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
    // Nothing of the replaced database may be left for its WAL to replay into the restored one.
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (cause) {
    db.close();
    const code = (cause as { code?: unknown }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new VigilError(
        'VIGIL_ERR_REQUEST_INVALID',
        `${dataDir} is in use by a running Vigil server (or another vigil command); stop the server first, then restore`,
        { cause },
      );
    }
    // Not a database SQLite can lock (damaged, say): no server can be running on it either.
    return { release: () => {} };
  }
  return { release: () => db.close() };
}

/**
 * Puts a backup in place as the data dir's database. The caller has checked that no server runs
 * on it and that the master key opens the backup's secrets.
 */
export function installBackup(file: string, dbPath: string): void {
  const temp = `${dbPath}.restore-${process.pid}`;
  try {
    // A temp file left by a crash goes first: copied over, it would keep its own mode meanwhile.
    rmSync(temp, { force: true });
    copyFileSync(file, temp, constants.COPYFILE_EXCL);
    chmodSync(temp, 0o600);
    fsyncPath(temp);
    // A WAL left from the replaced database would be replayed into the restored one.
    for (const suffix of ['-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
    renameSync(temp, dbPath);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
  fsyncFolderOf(dbPath);
}
