import { closeSync, createWriteStream, fsyncSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { fsyncFolderOf, openFresh } from './durable-file.ts';

/** Where a new version of `path` is written before it is renamed over it. */
function tempPathOf(path: string): string {
  return `${path}.${process.pid}.tmp`;
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
    throw e;
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
    throw e;
  }
  fsyncFolderOf(path);
}
