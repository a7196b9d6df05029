/**
 * Files an operator names on the command line, as the CLI meets them: a device, a named pipe, a
 * file too large, a folder with links in it, an output folder that is not there. Each is one
 * `vigil:` line on stderr and exit 2, promptly: never a hang, a flood of memory, a stack or the
 * name of a temp file.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/config.ts';
import { initDataDir } from '../src/server/provision.ts';
import { type CliRun, runVigil } from './support/cli-process.ts';

let dir: string;
let dataDir: string;
/** 20 s: a command that reads /dev/zero or waits on a pipe runs into it and fails the test. */
const vigil = (args: string[], env: Record<string, string> = {}) =>
  runVigil(args, { env: { VIGIL_DATA_DIR: dataDir, ...env }, timeoutMs: 20_000 });

function assertRefused(r: CliRun, line: RegExp): void {
  assert.equal(r.code, 2, `exit ${r.code}: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] as string, line);
  assert.doesNotMatch(r.stderr, /unexpected error|\.tmp|\.partial|\n\s+at /);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-cli-input-'));
  dataDir = join(dir, 'data');
  await initDataDir(loadConfig({ env: { VIGIL_DATA_DIR: dataDir, VIGIL_LOG_LEVEL: 'silent' } }));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('vigil --config', () => {
  it('refuses /dev/zero at once', async () => {
    assertRefused(
      await vigil(['audit', 'verify', '--config', '/dev/zero']),
      /^vigil: config file \/dev\/zero is a device, not a file; give the path of a regular file$/,
    );
  });

  it('refuses a named pipe instead of waiting for a writer', async () => {
    assertRefused(
      await vigil(['audit', 'verify', '--config', join(dir, 'fifo')]),
      /fifo is a named pipe, not a file/,
    );
  });
});

describe('vigil posture sbom import', () => {
  const sbomImport = (file: string) =>
    vigil(['posture', 'sbom', 'import', file, '--model', 'm', '--firmware', '1']);

  it('refuses /dev/zero, whose size says 0, instead of reading it for ever', async () => {
    assertRefused(await sbomImport('/dev/zero'), /^vigil: SBOM \/dev\/zero is a device, not a file/);
  });

  it('refuses a named pipe instead of waiting for a writer', async () => {
    assertRefused(await sbomImport(join(dir, 'fifo')), /^vigil: SBOM .*fifo is a named pipe, not a file/);
  });
});

describe('vigil posture advisories import', () => {
  it('skips links and special files in a folder, saying how many', async () => {
    const feed = join(dir, 'feed');
    mkdirSync(feed);
    symlinkSync(join(feed, 'self'), join(feed, 'self'));
    symlinkSync(join(dir, 'nowhere.json'), join(feed, 'dangling.json'));
    execFileSync('mkfifo', [join(feed, 'pipe.json')]);
    symlinkSync('/dev/zero', join(feed, 'zero.json'));
    const r = await vigil(['posture', 'advisories', 'import', feed]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^0 files \(0 already imported\); 4 symbolic link\(s\) or special file\(s\) skipped$/m,
    );
  });

  it('refuses a named pipe or a device named on the command line', async () => {
    assertRefused(
      await vigil(['posture', 'advisories', 'import', join(dir, 'fifo')]),
      /^vigil: .*fifo is neither a file nor a folder; name advisory files or the folder that holds them$/,
    );
    assertRefused(
      await vigil(['posture', 'advisories', 'import', '/dev/zero']),
      /\/dev\/zero is neither a file nor a folder/,
    );
  });

  it('refuses a loop of links or a missing path named on the command line, without a path from inside it', async () => {
    const loop = join(dir, 'loop');
    symlinkSync(loop, loop);
    assertRefused(
      await vigil(['posture', 'advisories', 'import', loop]),
      /^vigil: .*\/loop is a loop of symbolic links; name the folder or file itself$/,
    );
    assertRefused(
      await vigil(['posture', 'advisories', 'import', join(dir, 'none')]),
      /^vigil: .*\/none does not exist; check the path$/,
    );
  });
});

describe('output paths in a missing folder', () => {
  it('vigil patient export --out says the folder does not exist', async () => {
    assertRefused(
      await vigil(['patient', 'export', 'p1', '--out', '/nonexistent/x.json', '--purpose', 'treatment']),
      /^vigil: folder \/nonexistent does not exist; create it first$/,
    );
  });

  it('vigil device crl --out says the folder does not exist', async () => {
    assertRefused(
      await vigil(['device', 'crl', '--out', '/nonexistent/crl.pem']),
      /^vigil: folder \/nonexistent does not exist; create it first$/,
    );
    assertRefused(
      await vigil(['device', 'crl', '--out', join(dir, 'fifo', 'crl.pem')]),
      /fifo is not a folder/,
    );
  });

  it('vigil posture report --out says the folder does not exist', async () => {
    assertRefused(
      await vigil(['posture', 'report', '--out', '/nonexistent/posture.md']),
      /^vigil: folder \/nonexistent does not exist; create it first$/,
    );
  });
});

describe('hosts in the environment', () => {
  it('refuses a syslog URL with no host', async () => {
    assertRefused(
      await vigil(['audit', 'verify'], { VIGIL_SYSLOG_URL: 'udp://' }),
      /^vigil: VIGIL_SYSLOG_URL=udp:\/\/ names no host; use udp:\/\/host:port$/,
    );
  });

  it('refuses a VIGIL_HOST that is not a name or an address', async () => {
    assertRefused(
      await vigil(['audit', 'verify'], { VIGIL_HOST: 'a..b' }),
      /^vigil: VIGIL_HOST=a\.\.b is not a host name or IP address/,
    );
  });
});
