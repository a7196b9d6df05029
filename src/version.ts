import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest package.json above this file: src/ when run from source, dist/src/ when built. */
function packageJson(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above src/version.ts');
    dir = parent;
  }
  return join(dir, 'package.json');
}

/** Vigil's release, from package.json: the CLI's --version, the OpenAPI document and /healthz agree. */
export const VERSION: string = (JSON.parse(readFileSync(packageJson(), 'utf8')) as { version: string })
  .version;
