import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
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

/** The current master key, then the one being retired if a rotation is under way. */
export function loadMasterKeys(path: string): MasterKey[] {
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

/** Overwrites a retired key file before unlinking it, so the old key is not left on disk. */
export function destroyKeyFile(path: string): void {
  if (!existsSync(path)) return;
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.alloc(statSync(path).size));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  rmSync(path);
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
