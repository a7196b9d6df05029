import { closeSync, fchmodSync, fsyncSync, openSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * What a file written for keeps needs before anyone relies on it. A rename is atomic, but on its
 * own it is not durable: after a power loss the new name can point at a file whose content never
 * reached the disk (an empty private key, a truncated backup), unless the content was fsynced
 * before the rename; and the rename itself can be undone unless the folder holding it is fsynced
 * after (fsync(2): "fsync() on a file descriptor for the directory is also needed").
 */

/** Flushes a file's content, or a folder's entries, to disk, by path. */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a create, rename or unlink of `path` survive a power loss. */
export function fsyncFolderOf(path: string): void {
  fsyncPath(dirname(path));
}

/**
 * Opens a new, empty `path` for writing with exactly `mode`, whatever was there. A temp file
 * left by a crash is unlinked first, not reused: opened as it is, it would keep its own mode
 * (0644 with a private key written into it). The fchmod gives `mode` exactly, umask or not.
 */
export function openFresh(path: string, mode: number): number {
  rmSync(path, { force: true });
  const fd = openSync(path, 'wx', mode);
  try {
    fchmodSync(fd, mode);
  } catch (e) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw e;
  }
  return fd;
}
