/**
 * bin/vigil.js, the `vigil` command installed by npm and run by `npm start`: it starts the
 * TypeScript CLI with Vigil's V8 flags (bin/node-flags.js). A flag this Node does not accept
 * would stop every command before it began.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { NODE_FLAGS } from '../bin/node-flags.js';

describe('bin/vigil.js', () => {
  it('runs the CLI with the V8 flags, passing its arguments and exit code through', () => {
    const help = spawnSync(process.execPath, ['bin/vigil.js', '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /Usage: vigil/);
    const bad = spawnSync(process.execPath, ['bin/vigil.js', '--no-such-flag'], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /no-such-flag/);
  });

  it('uses only flags this Node accepts', () => {
    const probe = spawnSync(process.execPath, [...NODE_FLAGS, '-e', ''], { encoding: 'utf8' });
    assert.equal(probe.status, 0, probe.stderr);
    assert.ok(NODE_FLAGS.length > 0);
  });
});
