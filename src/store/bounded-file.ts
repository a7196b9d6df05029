import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { type ErrorCode, VigilError } from '../errors/catalogue.ts';

/**
 * Reading a file an operator names (a config file, a key, an SBOM) with readFileSync trusts the
 * path: /dev/zero or /dev/urandom grow memory until the process dies, a FIFO with no writer
 * blocks for ever, and stat().size says 0 for both, so a size check before the read does not
 * help. readBoundedFile opens without blocking, checks the open file itself (fstat, so nothing
 * is swapped in between) is a regular file, and reads at most one byte more than the limit.
 */

export interface BoundedReadOptions {
  /** The catalogue code of the refusal; configuration files say VIGIL_ERR_CONFIG_INVALID. */
  code?: ErrorCode;
  /** What to do when the file is too large, e.g. "split the feed into smaller files". */
  whenTooLarge?: string;
}

const CHUNK_BYTES = 64 * 1024;

/** A byte count as a person reads a limit: 1 MiB, 64 KiB, 300 bytes. */
export function describeBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / 1024 / 1024} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function whyUnreadable(errno: string | undefined): string {
  switch (errno) {
    case 'ENOENT':
      return 'does not exist; check the path';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read (permission denied); check its permissions';
    case 'ENOTDIR':
      return 'does not exist (a part of the path is not a folder); check the path';
    case 'ELOOP':
      return 'is a loop of symbolic links; point at the file itself';
    case 'EISDIR':
      return 'is a folder; give the path of a file';
    default:
      return `cannot be read (${errno ?? 'error'}); check the path and its permissions`;
  }
}

/**
 * The whole content of the regular file at `path`, at most `maxBytes` long. Anything else (no
 * such file, unreadable, a folder, FIFO or device, larger than the limit) is a VigilError
 * naming `what` and the path and saying what to do.
 */
export function readBoundedFile(
  path: string,
  maxBytes: number,
  what: string,
  opts: BoundedReadOptions = {},
): Buffer {
  const code = opts.code ?? 'VIGIL_ERR_REQUEST_INVALID';
  const refuse = (problem: string, cause?: unknown): never => {
    throw new VigilError(code, `${what} ${path} ${problem}`, cause === undefined ? undefined : { cause });
  };
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, for ever.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (cause) {
    return refuse(whyUnreadable((cause as NodeJS.ErrnoException).code), cause);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) refuse(`is ${kindOf(st)}, not a file; give the path of a regular file`);
    const tooLarge = () =>
      refuse(
        `is larger than ${describeBytes(maxBytes)} (the ${what} limit); ${opts.whenTooLarge ?? 'check that it is the right file'}`,
      );
    if (st.size > maxBytes) tooLarge();
    // The size can change between the fstat and the read (a file being written): read to the
    // end, but never more than one byte past the limit, so a growing file cannot grow memory.
    const limit = maxBytes + 1;
    const buffer = Buffer.allocUnsafe(Math.min(limit, Math.max(st.size + 1, 1)));
    let filled = 0;
    let target = buffer;
    for (;;) {
      if (filled === target.length) {
        if (target.length >= limit) break;
        const bigger = Buffer.allocUnsafe(Math.min(limit, Math.max(target.length * 2, CHUNK_BYTES)));
        target.copy(bigger, 0, 0, filled);
        target = bigger;
      }
      let n: number;
      try {
        n = readSync(fd, target, filled, target.length - filled, null);
      } catch (cause) {
        return refuse(whyUnreadable((cause as NodeJS.ErrnoException).code), cause);
      }
      if (n === 0) break;
      filled += n;
    }
    if (filled > maxBytes) tooLarge();
    return target.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}

/** readBoundedFile as UTF-8 text. */
export function readBoundedText(
  path: string,
  maxBytes: number,
  what: string,
  opts?: BoundedReadOptions,
): string {
  return readBoundedFile(path, maxBytes, what, opts).toString('utf8');
}
