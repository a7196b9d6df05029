/**
 * A spy on the fs calls that decide whether a file survives a power loss: which paths were
 * fsynced, and when, relative to the renames. The order cannot be shown by pulling the plug in
 * a test, so it is shown by the calls. The real calls still run: files are really written.
 *
 * Modules import `node:fs` by name; syncBuiltinESMExports() points those bindings at the spies
 * (and back at the originals on stop()).
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { resolve } from 'node:path';
import { mock } from 'node:test';

export type FsEvent =
  | { op: 'fsync'; path: string }
  | { op: 'rename'; from: string; to: string }
  | { op: 'readFile'; path: string };

export interface FsCallRecorder {
  readonly events: FsEvent[];
  /** The index of the first event matching, or -1. */
  indexOf(match: (e: FsEvent) => boolean): number;
  stop(): void;
}

const pathOf = (p: unknown): string => resolve(String(p));

/**
 * Records fsyncs (sync and async, by the path their fd was opened with), renames and whole-file
 * reads. `onReadFile` may throw, to make a whole-file read fail as it would on a huge file.
 */
export function recordFsCalls(opts: { onReadFile?: (path: string) => void } = {}): FsCallRecorder {
  const events: FsEvent[] = [];
  const fdPaths = new Map<number, string>();
  const original = {
    openSync: fs.openSync,
    open: fs.open,
    fsyncSync: fs.fsyncSync,
    fsync: fs.fsync,
    renameSync: fs.renameSync,
    readFileSync: fs.readFileSync,
  };
  const spies = [
    mock.method(fs, 'openSync', (...args: Parameters<typeof fs.openSync>) => {
      const fd = original.openSync(...args);
      fdPaths.set(fd, pathOf(args[0]));
      return fd;
    }),
    mock.method(fs, 'open', (path: fs.PathLike, ...rest: unknown[]) => {
      const cb = rest.pop() as (err: NodeJS.ErrnoException | null, fd: number) => void;
      const openAsync = original.open as (...a: unknown[]) => void;
      openAsync(path, ...rest, (err: NodeJS.ErrnoException | null, fd: number) => {
        if (!err) fdPaths.set(fd, pathOf(path));
        cb(err, fd);
      });
    }),
    mock.method(fs, 'fsyncSync', (fd: number) => {
      events.push({ op: 'fsync', path: fdPaths.get(fd) ?? `fd ${fd}` });
      original.fsyncSync(fd);
    }),
    mock.method(fs, 'fsync', (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
      events.push({ op: 'fsync', path: fdPaths.get(fd) ?? `fd ${fd}` });
      original.fsync(fd, cb);
    }),
    mock.method(fs, 'renameSync', (from: fs.PathLike, to: fs.PathLike) => {
      original.renameSync(from, to);
      events.push({ op: 'rename', from: pathOf(from), to: pathOf(to) });
    }),
    mock.method(fs, 'readFileSync', (...args: Parameters<typeof fs.readFileSync>) => {
      const [path] = args;
      if (typeof path === 'string' || path instanceof URL || Buffer.isBuffer(path)) {
        events.push({ op: 'readFile', path: pathOf(path) });
        opts.onReadFile?.(pathOf(path));
      }
      return original.readFileSync(...args);
    }),
  ];
  syncBuiltinESMExports();
  return {
    events,
    indexOf: (match) => events.findIndex(match),
    stop() {
      for (const spy of spies) spy.mock.restore();
      syncBuiltinESMExports();
    },
  };
}
