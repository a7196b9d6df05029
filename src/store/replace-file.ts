import { renameSync, writeFileSync } from 'node:fs';

/**
 * Replaces a file's content atomically: written beside it under a name of this process, then
 * renamed over it, so a reader (or a crash) sees the old file or the new one, never half of one.
 */
export function replaceFile(path: string, data: string | Buffer, mode: number): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, data, { mode });
  renameSync(temp, path);
}
