/**
 * `npm install` on the Node.js version Vigil declares must not pull a package that refuses it.
 * cookie@2 (through Fastify's light-my-request) declared Node >= 22 and printed an EBADENGINE
 * warning in the quick start; better-sqlite3@13 on Node 20 installs with such a warning, then
 * crashes. Every package in the lock file must accept both the lowest Node.js version our
 * package.json allows and the one running the tests.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import semver from 'semver';

const root = new URL('../', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  engines: { node: string };
};
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: unknown }>;
};

/** Each locked package with a Node.js range, as "name@version" and the range. */
function nodeRanges(): Array<{ name: string; range: string }> {
  const found: Array<{ name: string; range: string }> = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '') continue;
    const engines = entry.engines;
    // A few old packages give engines as an array of strings, which npm ignores.
    if (!engines || typeof engines !== 'object' || Array.isArray(engines)) continue;
    const range = (engines as { node?: unknown }).node;
    if (typeof range !== 'string') continue;
    found.push({ name: `${path.slice(path.lastIndexOf('node_modules/') + 13)}@${entry.version}`, range });
  }
  return found;
}

test('package.json declares a Node.js range that contains the running version', () => {
  assert.ok(semver.validRange(manifest.engines.node), manifest.engines.node);
  assert.ok(
    semver.satisfies(process.versions.node, manifest.engines.node),
    `Node.js ${process.versions.node} is outside ${manifest.engines.node}`,
  );
});

test('every locked package accepts the lowest declared and the running Node.js version', () => {
  const floor = semver.minVersion(manifest.engines.node)?.version;
  assert.ok(floor, `no lowest version in ${manifest.engines.node}`);
  const ranges = nodeRanges();
  assert.ok(ranges.length > 50, `expected many packages with engines, found ${ranges.length}`);
  const refusing = ranges
    .filter(({ range }) => !semver.satisfies(floor, range) || !semver.satisfies(process.versions.node, range))
    .map(({ name, range }) => `${name} wants node ${range}`);
  assert.deepEqual(refusing, [], `raise engines.node in package.json or pin these: ${refusing.join('; ')}`);
});
