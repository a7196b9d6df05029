import {
  closeSync,
  createWriteStream,
  fsyncSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { VigilError } from '../errors/catalogue.ts';
import { fsyncFolderOf, openFresh } from './durable-file.ts';

/** Where a new version of `path` is written before it is renamed over it. */
function tempPathOf(path: string): string {
  return `${path}.${process.pid}.tmp`;
}

/**
 * Refuses, before any work is done, an output path whose folder is missing, as `vigil backup`
 * does: an export or a CRL would otherwise fail only at its end, naming the temp file.
 */
export function requireFolderOf(path: string): void {
  const folder = dirname(path);
  let exists = true;
  try {
    if (statSync(folder).isDirectory()) return;
  } catch {
    exists = false;
  }
  throw new VigilError(
    'VIGIL_ERR_REQUEST_INVALID',
    exists
      ? `${folder} is not a folder; choose another path`
      : `folder ${folder} does not exist; create it first`,
  );
}

/**
 * A file-system failure while writing `path`, told about `path`: the temp file beside it is an
 * internal name the operator never gave, and a message naming it sends them looking for it.
 * Anything but an fs failure (an export's own refusal mid-stream) goes through unchanged.
 */
function writeFailure(path: string, cause: unknown): unknown {
  const e = cause as NodeJS.ErrnoException | undefined;
  if (typeof e?.code !== 'string' || typeof e.syscall !== 'string') return cause;
  const folder = dirname(path);
  const why =
    e.code === 'ENOENT' || e.code === 'ENOTDIR'
      ? `folder ${folder} does not exist; create it first`
      : e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS'
        ? `folder ${folder} may not be written to (${e.code}); choose another`
        : e.code === 'ENOSPC' || e.code === 'EDQUOT'
          ? `the disk holding ${folder} is full; free space or choose another folder`
          : e.code === 'EISDIR'
            ? 'it is a folder; name a file'
            : `${e.code} on ${e.syscall}; check the folder and the disk`;
  return new VigilError('VIGIL_ERR_REQUEST_INVALID', `cannot write ${path}: ${why}`, { cause });
}

/**
 * Replaces a file's content atomically and durably: written beside it under a name of this
 * process (a stale file of that name is unlinked, not reused), given exactly `mode`, fsynced,
 * renamed over it, and the folder fsynced. A reader, a crash or a power loss sees the old file or
 * the new one, never half of one, and a private key is never readable by others on the way.
 */
export function replaceFile(path: string, data: string | Buffer, mode: number): void {
  const temp = tempPathOf(path);
  try {
    const fd = openFresh(temp, mode);
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (e) {
    rmSync(temp, { force: true });
    throw writeFailure(path, e);
  }
  fsyncFolderOf(path);
}

/**
 * replaceFile for content that comes in pieces (an export far larger than memory), written with
 * backpressure. If the pieces fail midway, the old file stays and the temp file goes.
 */
export async function replaceFileFrom(
  path: string,
  pieces: AsyncIterable<string | Uint8Array>,
  mode: number,
  opts: { temp?: string } = {},
): Promise<void> {
  const temp = opts.temp ?? tempPathOf(path);
  try {
    const fd = openFresh(temp, mode);
    // The stream owns the fd from here (it closes it on error too); flush: it fsyncs before it
    // closes, and pipeline() resolves only once it has closed.
    await pipeline(pieces, createWriteStream(temp, { fd, flush: true }));
    renameSync(temp, path);
  } catch (e) {
    rmSync(temp, { force: true });
    throw writeFailure(path, e);
  }
  fsyncFolderOf(path);
}
