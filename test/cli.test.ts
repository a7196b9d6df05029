/**
 * The `vigil` command as an operator meets it: a real child process per call, real files,
 * a real server, and Debian's mosquitto_pub as the device.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { type CliRun, runVigil } from './support/cli-process.ts';
import { httpsRequest } from './support/https-client.ts';

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

type Run = CliRun;

const vigil = (args: string[], env: Record<string, string> = {}) => runVigil(args, { env });

function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Runs jobs with at most `width` at a time: each child process is a whole Node start-up. */
async function pool<T, R>(items: T[], width: number, job: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await job(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return out;
}

/** The subcommand names listed under "Commands:" in a help text. */
function commandsIn(help: string): string[] {
  const section = help.split(/^Commands:\s*$/m)[1];
  if (!section) return [];
  return section
    .split('\n')
    .map((line) => /^ {2}([a-z][\w-]*)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name !== 'help');
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

function assertOneLineError(r: Run, mentions: RegExp): void {
  assert.notEqual(r.code, 0, `expected a non-zero exit, got 0; stdout=${r.stdout}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0] ?? '', /^vigil: /);
  assert.match(lines[0] ?? '', mentions);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

describe('vigil CLI', () => {
  it('answers --help for every command it lists, recursively', async () => {
    const seen: string[] = [];
    let frontier: string[][] = [[]];
    while (frontier.length > 0) {
      const results = await pool(frontier, 4, async (path) => ({
        path,
        r: await vigil([...path, '--help']),
      }));
      frontier = [];
      for (const { path, r } of results) {
        assert.equal(r.code, 0, `vigil ${path.join(' ')} --help exited ${r.code}: ${r.stderr}`);
        assert.match(r.stdout, /^Usage: vigil/m, `vigil ${path.join(' ')} --help prints usage`);
        seen.push(path.join(' '));
        for (const sub of commandsIn(r.stdout)) frontier.push([...path, sub]);
      }
    }
    for (const verb of ['init', 'serve', 'demo', 'sim', 'token create', 'device add', 'device enroll']) {
      assert.ok(seen.includes(verb), `vigil ${verb} is listed (saw: ${seen.join(', ')})`);
    }
  });

  it('refuses bad flags and commands with one clear line and a non-zero exit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-cli-bad-'));
    // Should a bad flag be taken, the command stops at once on this, not runs a fleet or a server.
    const missingConfig = ['--config', join(dir, 'none.json')];
    try {
      const cases: Array<[string[], RegExp]> = [
        [['frobnicate'], /unknown command/],
        [['init', '--no-such-flag'], /unknown option/],
        [['sim', '--devices', 'many'], /--devices must be a whole number/],
        [['sim', '--rate', '-3'], /--rate must be a number/],
        // Number() would read these as 16, 10 and 5; a flag takes plain decimal digits only.
        [['sim', '--rate', '0x10', ...missingConfig], /--rate must be a number from 0\.001 to 100/],
        [['sim', '--rate', '1e1', ...missingConfig], /--rate must be a number from 0\.001 to 100/],
        [['sim', '--rate', ' 5', ...missingConfig], /--rate must be a number from 0\.001 to 100/],
        [['demo', '--rate', '1e1', ...missingConfig], /--rate must be a number from 0\.001 to 100/],
        [['demo', '--rate', 'Infinity', ...missingConfig], /--rate must be a number/],
        [['demo', '--devices', '0x10', ...missingConfig], /--devices must be a whole number from 1 to 1000/],
        [['sim', '--devices', '1e1', ...missingConfig], /--devices must be a whole number from 1 to 10000/],
        [['serve', '--data-dir', dir, '--http-port', '0x1F'], /http-port 0x1F is not a port/],
        [['serve', '--data-dir', dir, '--mqtt-port', ' 8883'], /mqtt-port\s+8883 is not a port/],
        [['keys', 'rotate', '--wait', '1e1', ...missingConfig], /--wait must be a whole number/],
        [
          ['token', 'create', '--role', 'admin', '--name', 'x', '--ttl', '0x10h', '--data-dir', dir],
          /--ttl 0x10h is not a duration/,
        ],
        // A line break in the value does not break the one line on stderr.
        [['sim', '--rate', '1\n2', ...missingConfig], /--rate must be a number/],
        [['sim', '--scenario', 'zombies'], /--scenario zombies is unknown/],
        [['device', 'add', '--model', 'X', '--serial', 'S'], /required option '--id/],
        [['token', 'create', '--role', 'admin', '--name', 'x', '--data-dir', dir], /not a Vigil data dir/],
        [['serve', '--data-dir', dir, '--http-port', '99999'], /httpPort|port/i],
        [['keys', 'rotate', '--wait', '0'], /--wait must be a whole number/],
        [['patient', 'erase', '--id', 'p1', '--reason', 'why', '--yes'], /--reason must say why/],
        [['patient', 'erase', '--id', 'p1', '--reason', 'a long enough reason'], /required option '--yes'/],
        [['backup', '--data-dir', dir], /required option '--out/],
        [['restore', join(dir, 'no-such.backup'), '--data-dir', join(dir, 'target')], /does not exist/],
      ];
      const results = await pool(cases, 4, ([args]) => vigil(args));
      results.forEach((r, i) => {
        assertOneLineError(r, cases[i]?.[1] as RegExp);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never prints the password of a refused database or broker URL', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [
        { VIGIL_DATABASE_URL: 'pg://vigil:Hunter2-secret@db.internal/vigil' },
        /VIGIL_DATABASE_URL=pg:\/\/\*\*\*@db\.internal/,
      ],
      [{ VIGIL_DATABASE_URL: 'postgresql://vigil:Hunter2-secret@db.internal:5432x/vigil' }, /is not a URL/],
      [
        { VIGIL_MQTT_URL: 'mqtt://vigil:Hunter2-secret@broker.internal' },
        /VIGIL_MQTT_URL=mqtt:\/\/\*\*\*@broker/,
      ],
    ];
    const results = await pool(cases, 3, ([env]) =>
      vigil(['token', 'create', '--role', 'admin', '--name', 'x'], env),
    );
    results.forEach((r, i) => {
      assertOneLineError(r, cases[i]?.[1] as RegExp);
      assert.doesNotMatch(r.stderr + r.stdout, /Hunter2/);
    });
  });

  it('refuses an ingest field named after an Object.prototype member with one line, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-cli-proto-'));
    try {
      const keys = ['toString', 'constructor', '__proto__'];
      const results = await pool(keys, 3, (key) => {
        const file = join(dir, `${key}.json`);
        writeFileSync(file, `{"ingest":{"${key}":5}}`);
        return vigil([
          'token',
          'create',
          '--role',
          'admin',
          '--name',
          'x',
          '--config',
          file,
          '--data-dir',
          dir,
        ]);
      });
      for (const r of results) {
        assertOneLineError(r, /is an unknown field/);
        assert.equal(r.code, 2);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('init into an existing world-readable directory keeps the database private (0600)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-cli-mode-'));
    try {
      chmodSync(dir, 0o755);
      const init = await vigil(['init', '--data-dir', dir, '--json']);
      assert.equal(init.code, 0, init.stderr);
      for (const f of ['vigil.db', 'vigil.db-wal', 'vigil.db-shm']) {
        const path = join(dir, f);
        if (f === 'vigil.db' || existsSync(path)) assert.equal(statSync(path).mode & 0o777, 0o600, f);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('the README tour', () => {
    let dir: string;
    let server: ChildProcess | undefined;
    let https = '';
    let mqttPort = 0;
    let caFile = '';
    let adminToken = '';

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'vigil-cli-tour-'));
      caFile = join(dir, 'ca.crt');
      const init = await vigil(['init', '--data-dir', dir]);
      assert.equal(init.code, 0, init.stderr);
      assert.match(lastLine(init.stdout), /^[\w.-]+$/, 'the admin token is alone on the last line');
      adminToken = lastLine(init.stdout);
      const again = await vigil(['init', '--data-dir', dir]);
      assertOneLineError(again, /already/);

      server = spawn(
        process.execPath,
        [...CLI, 'serve', '--data-dir', dir, '--http-port', '0', '--mqtt-port', '0', '--json'],
        { env: { ...process.env, VIGIL_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const started = await new Promise<{ https: string; mqtt: number }>((resolve, reject) => {
        let out = '';
        server?.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line) resolve(JSON.parse(line));
        });
        server?.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
      });
      https = started.https;
      mqttPort = started.mqtt;
    });

    after(async () => {
      if (server && server.exitCode === null) {
        const exited = new Promise((r) => server?.once('exit', r));
        server.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    });

    it('registers a patient and a device, enrols it, stores what mosquitto_pub sends, and reads it back', async () => {
      const patient = await vigil(['patient', 'add', '--data-dir', dir, '--id', 'p-cli', '--name', 'Ada L']);
      assert.equal(patient.code, 0, patient.stderr);
      const dup = await vigil(['patient', 'add', '--data-dir', dir, '--id', 'p-cli', '--name', 'Ada L']);
      assertOneLineError(dup, /p-cli/);

      const add = await vigil([
        'device',
        'add',
        '--data-dir',
        dir,
        '--id',
        'ox-cli',
        '--model',
        'PulseOx',
        '--serial',
        'SN1',
        '--patient',
        'p-cli',
        '--json',
      ]);
      assert.equal(add.code, 0, add.stderr);
      const { token } = JSON.parse(add.stdout) as { token: string };

      const out = join(dir, 'device-ox-cli');
      const enrol = await vigil([
        'device',
        'enroll',
        '--data-dir',
        dir,
        '--id',
        'ox-cli',
        '--token',
        token,
        '--out',
        out,
        '--server',
        https,
      ]);
      assert.equal(enrol.code, 0, enrol.stderr);
      assert.equal(lastLine(enrol.stdout), out);
      const reuse = await vigil([
        'device',
        'enroll',
        '--data-dir',
        dir,
        '--id',
        'ox-cli',
        '--token',
        token,
        '--out',
        join(dir, 'again'),
        '--server',
        https,
      ]);
      assertOneLineError(reuse, /token/i);

      const ts = new Date(Date.now() - 1000).toISOString();
      const payload = JSON.stringify({
        seq: 1,
        ts,
        readings: [
          { code: '8867-4', value: 71, unit: '/min' },
          { code: '59408-5', value: 97, unit: '%' },
        ],
      });
      const pub = await run('mosquitto_pub', [
        '-h',
        '127.0.0.1',
        '-p',
        String(mqttPort),
        '-V',
        'mqttv5',
        '-q',
        '1',
        '-i',
        'ox-cli',
        '--cafile',
        join(out, 'ca.crt'),
        '--cert',
        join(out, 'device.crt'),
        '--key',
        join(out, 'device.key'),
        '-t',
        'v1/devices/ox-cli/telemetry',
        '-m',
        payload,
      ]);
      assert.equal(pub.code, 0, pub.stderr);

      const tok = await vigil([
        'token',
        'create',
        '--data-dir',
        dir,
        '--role',
        'clinician',
        '--name',
        'cli-test',
        '--ttl',
        '10m',
      ]);
      assert.equal(tok.code, 0, tok.stderr);
      // As in the README: the clinician reads the patient through a care team.
      const ca = readFileSync(caFile, 'utf8');
      const team = await httpsRequest(`${https}/api/v1/care-teams`, {
        method: 'POST',
        ca,
        token: adminToken,
        body: JSON.stringify({ id: 'ward-3', name: 'Ward 3', members: ['cli-test'] }),
      });
      assert.equal(team.status, 201, team.text);
      const link = await httpsRequest(`${https}/api/v1/care-teams/ward-3/patients/p-cli`, {
        method: 'PUT',
        ca,
        token: adminToken,
      });
      assert.equal(link.status, 200, link.text);
      const res = await httpsRequest(`${https}/api/v1/patients/p-cli/observations?from=${ts}`, {
        ca: readFileSync(caFile, 'utf8'),
        token: lastLine(tok.stdout),
      });
      assert.equal(res.status, 200, res.text);
      const body = res.json as { observations: Array<{ code: string; value: number }> };
      assert.deepEqual(body.observations.map((o) => [o.code, o.value]).sort(), [
        ['59408-5', 97],
        ['8867-4', 71],
      ]);
    });

    it('device renew replaces the enrolled key and certificate; the old certificate is refused', async () => {
      const out = join(dir, 'device-ox-cli');
      const before = readFileSync(join(out, 'device.crt'), 'utf8');
      const oldDir = join(dir, 'device-ox-cli-old');
      mkdirSync(oldDir);
      for (const f of ['device.key', 'device.crt', 'ca.crt']) copyFileSync(join(out, f), join(oldDir, f));
      const renew = await vigil(['device', 'renew', '--data-dir', dir, '--dir', out, '--server', https]);
      assert.equal(renew.code, 0, renew.stderr);
      assert.equal(lastLine(renew.stdout), out);
      assert.notEqual(readFileSync(join(out, 'device.crt'), 'utf8'), before);
      const publish = (from: string, seq: number) =>
        run('mosquitto_pub', [
          ...['-h', '127.0.0.1', '-p', String(mqttPort), '-V', 'mqttv5', '-q', '1', '-i', 'ox-cli'],
          ...[
            '--cafile',
            join(from, 'ca.crt'),
            '--cert',
            join(from, 'device.crt'),
            '--key',
            join(from, 'device.key'),
          ],
          ...['-t', 'v1/devices/ox-cli/telemetry'],
          ...[
            '-m',
            JSON.stringify({
              seq,
              ts: new Date().toISOString(),
              readings: [{ code: '8867-4', value: 72, unit: '/min' }],
            }),
          ],
        ]);
      const fresh = await publish(out, 100);
      assert.equal(fresh.code, 0, fresh.stderr);
      const stale = await publish(oldDir, 101);
      assert.notEqual(stale.code, 0, 'the superseded certificate is refused');
      assertOneLineError(
        await vigil(['device', 'renew', '--data-dir', dir, '--dir', join(dir, 'nowhere')]),
        /not found/,
      );
    });

    it('device crl writes the revocation list an external broker loads, PEM or DER', async () => {
      const pem = join(dir, 'devices.crl');
      const written = await vigil(['device', 'crl', '--data-dir', dir, '--out', pem]);
      assert.equal(written.code, 0, written.stderr);
      assert.match(written.stdout, /revocation list with \d+ certificate\(s\) written to .*devices\.crl/);
      const text = await run('openssl', ['crl', '-in', pem, '-noout', '-text']);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /Issuer: .*Vigil/);
      assert.match(text.stdout, /X509v3 CRL Number/);
      const der = join(dir, 'devices.crl.der');
      const json = await vigil(['device', 'crl', '--data-dir', dir, '--out', der, '--der', '--json']);
      assert.equal(json.code, 0, json.stderr);
      assert.equal((JSON.parse(json.stdout) as { out: string }).out, der);
      assert.equal((await run('openssl', ['crl', '-inform', 'DER', '-in', der, '-noout'])).code, 0);
      assertOneLineError(await vigil(['device', 'crl', '--data-dir', dir]), /--out/);
    });

    it('device enroll writes the new private key 0600 even over an older device.key', async () => {
      const add = await vigil([
        'device',
        'add',
        '--data-dir',
        dir,
        '--id',
        'ox-keymode',
        '--model',
        'M',
        '--serial',
        'S',
      ]);
      assert.equal(add.code, 0, add.stderr);
      const out = join(dir, 'device-ox-keymode');
      mkdirSync(out, { mode: 0o755 });
      for (const f of ['device.key', 'device.crt', 'ca.crt']) {
        writeFileSync(join(out, f), 'old\n');
        chmodSync(join(out, f), 0o644);
      }
      const enrol = await vigil([
        ...['device', 'enroll', '--data-dir', dir, '--id', 'ox-keymode'],
        ...['--token', lastLine(add.stdout), '--out', out, '--server', https],
      ]);
      assert.equal(enrol.code, 0, enrol.stderr);
      assert.equal(statSync(join(out, 'device.key')).mode & 0o777, 0o600);
      assert.match(readFileSync(join(out, 'device.key'), 'utf8'), /PRIVATE KEY/);
      assert.match(readFileSync(join(out, 'device.crt'), 'utf8'), /BEGIN CERTIFICATE/);
      assert.match(readFileSync(join(out, 'ca.crt'), 'utf8'), /BEGIN CERTIFICATE/);
    });

    it('device add for an unknown patient registers nothing, so a retry can succeed', async () => {
      const args = ['device', 'add', '--data-dir', dir, '--id', 'ox-orphan', '--model', 'M', '--serial', 'S'];
      assertOneLineError(await vigil([...args, '--patient', 'no-such-patient']), /patient no-such-patient/);
      const db = new Database(join(dir, 'vigil.db'), { readonly: true });
      try {
        assert.equal(db.prepare("SELECT id FROM devices WHERE id = 'ox-orphan'").get(), undefined);
      } finally {
        db.close();
      }
      const retry = await vigil(args);
      assert.equal(retry.code, 0, retry.stderr);
      assert.match(lastLine(retry.stdout), /^[\w.-]+$/, 'the enrollment token is printed');
    });

    it('audit verify passes on the untouched trail and exits 3 naming the entry after tampering', async () => {
      const ok = await vigil(['audit', 'verify', '--data-dir', dir, '--json']);
      assert.equal(ok.code, 0, ok.stderr);
      const report = JSON.parse(ok.stdout) as { entries: number; intact: boolean };
      assert.equal(report.intact, true);
      assert.ok(report.entries >= 4, `entries: ${report.entries}`);

      const db = new Database(join(dir, 'vigil.db'));
      db.prepare("UPDATE audit_log SET actor = 'cli:mallory' WHERE seq = 2").run();
      db.close();
      const broken = await vigil(['audit', 'verify', '--data-dir', dir]);
      assert.equal(broken.code, 3);
      assert.match(broken.stdout, /BROKEN at entry 2/);
    });
  });
});
