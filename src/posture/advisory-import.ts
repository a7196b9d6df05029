/**
 * Offline advisory import from files and folders (hospitals run air-gapped). Idempotent:
 * advisories carry a content hash, so re-importing changes nothing. Resumable: each file is
 * written in batches and its position is recorded after every batch, so an interrupted import
 * of a 500,000-entry file restarts where it stopped; a finished file (same content hash) is
 * skipped outright.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { VigilError } from '../errors/catalogue.ts';
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
  skippedFiles: number;
  advisories: WriteCounts;
  kev: WriteCounts;
  epss: WriteCounts;
  vex: WriteCounts;
  errors: string[];
}

export const IMPORT_BATCH = 5_000;

/** Files under a path, in a stable order; only .json and .csv are advisory files. */
export function advisoryFiles(path: string): string[] {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    throw new VigilError('VIGIL_ERR_REQUEST_INVALID', `${path} does not exist or cannot be read`);
  }
  if (st.isFile()) return [path];
  const out: string[] = [];
  for (const name of readdirSync(path).sort()) {
    const full = join(path, name);
    if (statSync(full).isDirectory()) out.push(...advisoryFiles(full));
    else if (/\.(json|csv)$/i.test(name)) out.push(full);
  }
  return out;
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
  const files = paths.flatMap((p) => advisoryFiles(p));
  const result: ImportResult = {
    files: files.length,
    skippedFiles: 0,
    advisories: zero(),
    kev: zero(),
    epss: zero(),
    vex: zero(),
    errors: [],
  };
  for (const [fileIndex, file] of files.entries()) {
    const bytes = readFileSync(file);
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
