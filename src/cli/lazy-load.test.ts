import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/*
 * Every `vigil` run builds the whole program before it parses a flag, so what program.ts imports
 * is paid by `vigil --help` and by every refused flag: through tsx, the server stack costs about
 * two seconds. Node has no public registry of the ES modules it loaded, so this walks the static
 * imports from main.ts instead, the graph Node would load before any action's `await import`.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** `import … from`, `import '…'` and `export … from`; `import type` and `export type` are erased. */
const STATIC_IMPORT = /^\s*(?:import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;

/** Packages the program may load before an action runs. */
const LIGHT_PACKAGES = new Set(['commander']);

/** Vigil's own modules that stand for the heavy stack, named so a failure says which one came in. */
const HEAVY_FILES = [
  'src/server/vigil.ts',
  'src/server/provision.ts',
  'src/store/database.ts',
  'src/crypto/key-ring.ts',
  'src/pki/index.ts',
  'sim/fleet.ts',
];

interface ImportGraph {
  /** Each source file reached (relative to the repository root), with the file that imports it. */
  importers: Map<string, string | undefined>;
  /** Each package reached, with the first file found importing it. */
  packages: Map<string, string>;
}

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

function resolveRelative(from: string, specifier: string): string {
  const path = resolve(root, dirname(from), specifier);
  const found = [path, path.replace(/\.js$/, '.ts'), `${path}.ts`, join(path, 'index.ts')].find(
    (p) => p.endsWith('.ts') && existsSync(p),
  );
  assert.ok(found, `${from} imports ${specifier}, which this walk cannot find`);
  return relative(root, found);
}

/** Breadth first, so the importer chain of a file is a shortest one. */
function staticImportGraph(entry: string): ImportGraph {
  const importers = new Map<string, string | undefined>([[entry, undefined]]);
  const packages = new Map<string, string>();
  for (const file of importers.keys()) {
    for (const [, isTypeOnly, specifier] of readFileSync(join(root, file), 'utf8').matchAll(STATIC_IMPORT)) {
      if (isTypeOnly || specifier === undefined || specifier.startsWith('node:')) continue;
      if (specifier.startsWith('.')) {
        const target = resolveRelative(file, specifier);
        if (!importers.has(target)) importers.set(target, file);
      } else if (!packages.has(packageOf(specifier))) packages.set(packageOf(specifier), file);
    }
  }
  return { importers, packages };
}

/** How `file` is reached: main.ts > program.ts > … > file. */
function chainTo(graph: ImportGraph, file: string): string {
  const chain = [file];
  for (let f = graph.importers.get(file); f !== undefined; f = graph.importers.get(f)) chain.unshift(f);
  return chain.join(' > ');
}

describe('the vigil program before an action runs', () => {
  const graph = staticImportGraph('src/cli/main.ts');

  it('loads no package but commander', () => {
    const heavy = [...graph.packages].filter(([pkg]) => !LIGHT_PACKAGES.has(pkg));
    assert.deepEqual(
      heavy.map(([pkg, file]) => `${pkg} via ${chainTo(graph, file)}`),
      [],
      'import these inside the action that needs them (an *-actions.ts module loaded with await import)',
    );
  });

  it('loads none of the store, the key ring, the PKI, the server or the simulator', () => {
    assert.deepEqual(
      HEAVY_FILES.filter((file) => graph.importers.has(file)).map((file) => chainTo(graph, file)),
      [],
      'the command definitions must not import these; their actions load them with await import',
    );
  });

  it('still holds every command definition', () => {
    for (const file of ['src/cli/program.ts', 'src/cli/run-commands.ts', 'src/cli/user-commands.ts'])
      assert.ok(graph.importers.has(file), `${file} is reached from main.ts`);
  });

  it('is checked by a walk that does see the heavy stack where it is imported', () => {
    const actions = staticImportGraph('src/cli/run-actions.ts');
    for (const file of ['src/server/vigil.ts', 'src/store/database.ts', 'sim/fleet.ts'])
      assert.ok(actions.importers.has(file), `run-actions.ts reaches ${file}`);
    for (const pkg of ['fastify', 'kysely', '@peculiar/x509', 'better-sqlite3'])
      assert.ok(actions.packages.has(pkg), `run-actions.ts reaches ${pkg}`);
  });
});
