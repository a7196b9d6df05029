/**
 * Offline advisory import from files and folders (hospitals run air-gapped). Idempotent:
 * advisories carry a content hash, so re-importing changes nothing. Resumable: each file is
 * written in batches and its position is recorded after every batch, so an interrupted import
 * of a 500,000-entry file restarts where it stopped; a finished file (same content hash) is
 * skipped outright.
 */
import { lstatSync, readdirSync, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import { VigilError } from '../errors/catalogue.ts';
import { readBoundedFile } from '../store/bounded-file.ts';
import { type ParsedAdvisoryFile, parseAdvisoryFile } from './advisory-files.ts';
import { type PostureStore, sha256, type WriteCounts } from './posture.store.ts';

export interface ImportProgress {
  file: string;
  fileIndex: number;
  files: number;
  done: number;
  total: number;
}

export interface ImportResult {
  files: number;
  /** Files imported before, left alone. */
  skippedFiles: number;
  /** Symbolic links and special files inside the folders, not followed or read. */
  skippedEntries: number;
  advisories: WriteCounts;
  kev: WriteCounts;
  epss: WriteCounts;
  vex: WriteCounts;
  errors: string[];
}

export const IMPORT_BATCH = 5_000;

/**
 * An advisory file is read whole to be parsed and hashed. The largest real feeds are far below
 * this (the EPSS CSV is about 10 MiB, CISA KEV under 2 MiB); 256 MiB keeps a file well inside
 * what V8 can hold as one string, and a larger feed can be split into several files.
 */
export const MAX_ADVISORY_FILE_BYTES = 256 * 1024 * 1024;

/** The advisory files under some paths, and how many entries of the folders walked were passed over. */
export interface AdvisoryFileList {
  files: string[];
  /** Symbolic links and special files (FIFOs, devices, sockets) inside folders: never followed. */
  skippedEntries: number;
}

function unreadable(path: string, cause: unknown): VigilError {
  const code = (cause as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT' || code === 'ENOTDIR'
      ? 'does not exist; check the path'
      : code === 'ELOOP'
        ? 'is a loop of symbolic links; name the folder or file itself'
        : code === 'EACCES' || code === 'EPERM'
          ? 'cannot be read (permission denied); check its permissions'
          : `cannot be read (${code ?? 'error'}); check the path`;
  return new VigilError('VIGIL_ERR_REQUEST_INVALID', `${path} ${why}`, { cause });
}

/**
 * Files under some paths, in a stable order; only .json and .csv are advisory files. A path
 * named on the command line is followed if it is a link; inside a folder, links and special
 * files are skipped and counted (a link could loop, or lead out of the feed folder).
 */
export function advisoryFiles(paths: readonly string[]): AdvisoryFileList {
  const list: AdvisoryFileList = { files: [], skippedEntries: 0 };
  const walk = (folder: string) => {
    let names: string[];
    try {
      names = readdirSync(folder).sort();
    } catch (cause) {
      throw unreadable(folder, cause);
    }
    for (const name of names) {
      const full = join(folder, name);
      let st: Stats;
      try {
        st = lstatSync(full);
      } catch (cause) {
        throw unreadable(full, cause);
      }
      if (st.isDirectory()) walk(full);
      else if (!st.isFile()) list.skippedEntries++;
      else if (/\.(json|csv)$/i.test(name)) list.files.push(full);
    }
  };
  for (const path of paths) {
    let st: Stats;
    try {
      st = statSync(path);
    } catch (cause) {
      throw unreadable(path, cause);
    }
    if (st.isFile()) list.files.push(path);
    else if (st.isDirectory()) walk(path);
    else {
      throw new VigilError(
        'VIGIL_ERR_REQUEST_INVALID',
        `${path} is neither a file nor a folder; name advisory files or the folder that holds them`,
      );
    }
  }
  return list;
}

const zero = (): WriteCounts => ({ inserted: 0, updated: 0, unchanged: 0 });
const add = (a: WriteCounts, b: WriteCounts) => {
  a.inserted += b.inserted;
  a.updated += b.updated;
  a.unchanged += b.unchanged;
};

function sizeOf(p: ParsedAdvisoryFile): number {
  return p.advisories.length + p.kev.length + p.epss.length + p.vex.length;
}

export async function importAdvisoryPaths(
  store: PostureStore,
  paths: string[],
  onProgress: (p: ImportProgress) => void = () => {},
): Promise<ImportResult> {
  const { files, skippedEntries } = advisoryFiles(paths);
  const result: ImportResult = {
    files: files.length,
    skippedFiles: 0,
    skippedEntries,
    advisories: zero(),
    kev: zero(),
    epss: zero(),
    vex: zero(),
    errors: [],
  };
  for (const [fileIndex, file] of files.entries()) {
    let bytes: Buffer;
    try {
      bytes = readBoundedFile(file, MAX_ADVISORY_FILE_BYTES, 'advisory file', {
        code: 'VIGIL_ERR_POSTURE_BAD_ADVISORY',
        whenTooLarge: 'split the feed into smaller files',
      });
    } catch (e) {
      // Refused like a malformed file: the others are still imported, and the command fails.
      if (e instanceof VigilError) {
        result.errors.push(e.detail);
        continue;
      }
      throw e;
    }
    const hash = sha256(bytes);
    const state = await store.importState(hash);
    if (state?.completed) {
      result.skippedFiles++;
      continue;
    }
    let parsed: ParsedAdvisoryFile;
    try {
      parsed = parseAdvisoryFile(bytes.toString('utf8'), file);
    } catch (e) {
      if (e instanceof VigilError) {
        result.errors.push(e.detail);
        continue;
      }
      throw e;
    }
    const total = sizeOf(parsed);
    // KEV, EPSS and VEX sets are small: written whole. Advisories go in resumable batches.
    if (!state) {
      add(result.kev, await store.putKev(parsed.kev));
      add(result.epss, await store.putEpss(parsed.epss));
      add(result.vex, await store.putVex(parsed.vex));
    }
    const start = state?.nextIndex ?? 0;
    const fixed = total - parsed.advisories.length;
    for (let i = Math.max(0, start - fixed); i < parsed.advisories.length; i += IMPORT_BATCH) {
      const batch = parsed.advisories.slice(i, i + IMPORT_BATCH);
      add(result.advisories, await store.putAdvisories(batch));
      const nextIndex = fixed + i + batch.length;
      await store.recordImport({
        contentHash: hash,
        path: file,
        kind: parsed.kind,
        nextIndex,
        total,
        completed: false,
      });
      onProgress({ file, fileIndex, files: files.length, done: nextIndex, total });
    }
    await store.recordImport({
      contentHash: hash,
      path: file,
      kind: parsed.kind,
      nextIndex: total,
      total,
      completed: true,
    });
    onProgress({ file, fileIndex, files: files.length, done: total, total });
  }
  return result;
}
