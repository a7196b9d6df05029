#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so `npx vigil` works without a build step.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from './node-flags.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The CLI runs in a child (the V8 flags must be set when Node starts), so this process passes on
// the signals that stop or reload it: a supervisor's SIGTERM reaches only this pid, and the
// server would otherwise keep running, and its ports, without a parent. The child has a process
// group of its own so that a terminal's Ctrl-C reaches it once, through here: twice would be
// the CLI's "second signal, exit at once" and skip closing the store. No command reads the
// terminal, which a background group may not do.
const child = spawn(
  process.execPath,
  [...NODE_FLAGS, '--import', 'tsx', join(root, 'src/cli/main.ts'), ...process.argv.slice(2)],
  { stdio: 'inherit', detached: true },
);
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const forward = (signal) => {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
};
for (const signal of FORWARDED) process.on(signal, forward);
child.once('error', (err) => {
  process.stderr.write(`vigil: cannot start the CLI: ${err.message}\n`);
  process.exit(1);
});
child.once('exit', (code, signal) => {
  if (signal === null) process.exit(code ?? 1);
  // Ended by a signal it did not handle: end the same way, so a shell or supervisor sees it.
  for (const s of FORWARDED) process.off(s, forward);
  process.kill(process.pid, signal);
});
