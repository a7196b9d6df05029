/**
 * Finds every *.test.ts under src/, sim/ and test/ and hands them to Node's test runner
 * (Node 20's runner cannot glob .ts files itself). Pass file paths to run only those.
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function findTests(dir: string): string[] {
  let found: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found = found.concat(findTests(path));
    else if (entry.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

const requested = process.argv.slice(2);
const files = requested.length > 0 ? requested : ['src', 'sim', 'test'].flatMap((d) => findTests(d)).sort();
const concurrency = process.env.VIGIL_TEST_CONCURRENCY ?? '2';
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
