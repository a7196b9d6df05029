import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { VigilError } from '../errors/catalogue.ts';
import { readBoundedText } from '../store/bounded-file.ts';
import { fsyncFolderOf } from '../store/durable-file.ts';
import { KEY_BYTES } from './aead.ts';

/**
 * The master key wraps every data key. It lives in a file readable by the owner only (0600)
 * or, later, in an external KMS behind the same two functions. The file holds the key id and
 * the key in base64 so that rotation can tell keys apart.
 */
export interface MasterKey {
  readonly id: string;
  readonly key: Buffer;
}

export function newMasterKey(): MasterKey {
  return { id: `mk-${randomBytes(6).toString('hex')}`, key: randomBytes(KEY_BYTES) };
}

/**
 * Writes a key file that must not exist yet, durably; 'wx' fails if another process made it.
 * The folder is fsynced too: without it a power loss can take the new name away while records
 * sealed under the key are already committed, and those records are then lost with it.
 */
export function writeMasterKeyFile(path: string, master: MasterKey): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify({ id: master.id, key: master.key.toString('base64') })}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(path, 0o600);
  fsyncFolderOf(path);
}

export function createMasterKeyFile(path: string): MasterKey {
  if (existsSync(path)) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `master key file ${path} already exists; refusing to overwrite it`,
    );
  }
  const master = newMasterKey();
  writeMasterKeyFile(path, master);
  return master;
}

/** During a rotation the key being retired waits here until nothing is wrapped by it. */
export function previousKeyPath(path: string): string {
  return `${path}.previous`;
}

/**
 * A `.previous` file that cannot hold a key: empty (a crash between creating it and writing the
 * key, before it was written through a temp file) or all zeros (a crash while the old
 * destroyKeyFile overwrote it in place). It blocked both the server and `vigil keys rotate`
 * ("not a Vigil key file"), so it is removed; returns what was done, for the caller to tell.
 * Anything with a non-zero byte may be a key and is left for loadMasterKeyFile to judge.
 */
export function dropUnusablePreviousKey(path: string): string | undefined {
  const previous = previousKeyPath(path);
  if (!existsSync(previous)) return undefined;
  const st = statSync(previous);
  const size = st.size;
  // A pipe or anything else but a plain small file is loadMasterKeyFile's to refuse.
  if (!st.isFile() || size > MAX_MASTER_KEY_FILE_BYTES) return undefined;
  const bytes = readFileSync(previous);
  if (bytes.some((b) => b !== 0)) return undefined;
  rmSync(previous);
  fsyncFolderOf(previous);
  return `${previous} was ${size === 0 ? 'empty' : 'all zeros'} (left by an interrupted rotation) and held no key; removed it`;
}

/** Where destroyKeyFile puts a key file while it overwrites it. */
function shredPathOf(path: string): string {
  return `${path}.shred`;
}

/** Finishes what an interrupted destroyKeyFile left: a `.shred` beside any of the key files. */
export function removeLeftoverShreds(path: string): void {
  for (const f of [path, previousKeyPath(path), nextKeyPath(path)]) {
    const shred = shredPathOf(f);
    if (existsSync(shred)) overwriteAndUnlink(shred);
  }
}

/**
 * The current master key, then the one being retired if a rotation is under way. `onNotice`
 * hears about an unusable `.previous` that was removed (default: one line on stderr).
 */
export function loadMasterKeys(
  path: string,
  onNotice: (detail: string) => void = (d) => process.stderr.write(`vigil: note: ${d}\n`),
): MasterKey[] {
  removeLeftoverShreds(path);
  const dropped = dropUnusablePreviousKey(path);
  if (dropped) onNotice(dropped);
  const keys = [loadMasterKeyFile(path)];
  if (existsSync(previousKeyPath(path))) keys.push(loadMasterKeyFile(previousKeyPath(path)));
  return keys;
}

/** Where a new key is written before it is renamed over the current one. */
export function nextKeyPath(path: string): string {
  return `${path}.next`;
}

/** Replaces the current key file atomically with a new key (write beside it, then rename). */
export function replaceMasterKeyFile(path: string, master: MasterKey): void {
  const next = nextKeyPath(path);
  rmSync(next, { force: true });
  writeMasterKeyFile(next, master);
  renameSync(next, path);
  // Durable before the caller re-wraps data keys under the new key.
  fsyncFolderOf(path);
}

/**
 * Writes a key file through a temp file renamed into place (replacing whatever is there), so a
 * crash leaves either no file or a whole key under `path`, never an empty one.
 */
export function installMasterKeyFile(path: string, master: MasterKey): void {
  const temp = `${path}.tmp`;
  rmSync(temp, { force: true });
  writeMasterKeyFile(temp, master);
  renameSync(temp, path);
  fsyncFolderOf(path);
}

/**
 * Tolerates the file vanishing meanwhile: a server's key reload and a rotation may both find the
 * same leftover `.shred`, and either finishing it is enough.
 */
function overwriteAndUnlink(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    writeSync(fd, Buffer.alloc(fstatSync(fd).size));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  rmSync(path, { force: true });
  fsyncFolderOf(path);
}

/**
 * Overwrites a retired key file before unlinking it, so the old key is not left on disk. It is
 * renamed to `<file>.shred` first: a crash while overwriting then leaves a `.shred` (removed at
 * the next load), never a zeroed file under the key's own name that blocks every start.
 */
export function destroyKeyFile(path: string): void {
  if (!existsSync(path)) return;
  const shred = shredPathOf(path);
  renameSync(path, shred);
  fsyncFolderOf(path);
  overwriteAndUnlink(shred);
}

/** A key file holds an id and a 32-byte key, about 100 bytes; 4 KiB leaves room and no more. */
export const MAX_MASTER_KEY_FILE_BYTES = 4 * 1024;

export function loadMasterKeyFile(path: string): MasterKey {
  if (!existsSync(path)) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `master key file ${path} is missing; run "vigil init" or point VIGIL_MASTER_KEY_FILE at it`,
    );
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `master key file ${path} is readable by others (mode ${mode.toString(8)}); run "chmod 600 ${path}"`,
    );
  }
  const text = readBoundedText(path, MAX_MASTER_KEY_FILE_BYTES, 'master key file', {
    code: 'VIGIL_ERR_CONFIG_INVALID',
    whenTooLarge: 'point VIGIL_MASTER_KEY_FILE at the key file "vigil init" wrote',
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new VigilError('VIGIL_ERR_CONFIG_INVALID', `master key file ${path} is not a Vigil key file`);
  }
  const rec = parsed as { id?: unknown; key?: unknown };
  const key = typeof rec.key === 'string' ? Buffer.from(rec.key, 'base64') : Buffer.alloc(0);
  if (typeof rec.id !== 'string' || key.length !== KEY_BYTES) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG_INVALID',
      `master key file ${path} is damaged (needs an id and a 32-byte key)`,
    );
  }
  return { id: rec.id, key };
}
