/**
 * Builds the dashboard (web/ -> web/dist) when it is missing or older than its sources, so
 * `npm start` and `npm test` work on a fresh clone; `--force` always builds (npm run build:web).
 * Text assets also get .br and .gz twins, which @fastify/static sends to browsers that accept them.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const webDir = join(root, 'web');
const distDir = join(webDir, 'dist');
const SOURCES = [
  join(webDir, 'src'),
  join(webDir, 'index.html'),
  join(webDir, 'vite.config.ts'),
  join(root, 'package-lock.json'),
  // The one server module the dashboard bundles (web/src/lib/lttb.ts).
  join(root, 'src', 'clinical', 'series-downsample.ts'),
];
const COMPRESSIBLE = /\.(js|css|html|svg|json|txt)$/;

function newestMtimeMs(path: string): number {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  return newest;
}

export function isBuildCurrent(): boolean {
  const built = newestMtimeMs(join(distDir, 'index.html'));
  return built > 0 && SOURCES.every((s) => newestMtimeMs(s) <= built);
}

function precompress(dir: string): void {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) precompress(path);
    else if (COMPRESSIBLE.test(entry)) {
      const body = readFileSync(path);
      writeFileSync(`${path}.gz`, gzipSync(body, { level: 9 }));
      writeFileSync(
        `${path}.br`,
        brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
      );
    }
  }
}

export async function buildWeb(opts: { force?: boolean } = {}): Promise<boolean> {
  if (!opts.force && isBuildCurrent()) return false;
  const { build } = await import('vite');
  await build({ configFile: join(webDir, 'vite.config.ts'), logLevel: 'warn' });
  precompress(distDir);
  // index.html last, so its time marks a complete build.
  const index = join(distDir, 'index.html');
  writeFileSync(index, readFileSync(index));
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const force = process.argv.includes('--force');
  buildWeb({ force })
    .then((built) =>
      console.log(built ? 'dashboard built in web/dist' : 'dashboard is up to date (web/dist)'),
    )
    .catch((err: unknown) => {
      console.error(`dashboard build failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
}
